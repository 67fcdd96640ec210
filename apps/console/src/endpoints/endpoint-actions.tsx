import { useState } from 'preact/hooks';
import { type Api, describeError, type WebhookEndpointInfo } from '../api.ts';
import { type EndpointFields, EndpointForm } from './endpoint-form.tsx';

/** The panel an endpoint's button opens under the table. */
export type ActionMode = 'edit' | 'rotate' | 'replay' | 'delete';

const base = (endpoint: WebhookEndpointInfo) => `/webhooks/${encodeURIComponent(endpoint.id)}`;

/** An endpoint row's buttons; Disable/Enable act at once, the others open a panel. */
export function EndpointButtons(props: {
  api: Api;
  endpoint: WebhookEndpointInfo;
  onOpen: (mode: ActionMode) => void;
  onChanged: () => void;
  onError: (message: string) => void;
}) {
  const { api, endpoint } = props;
  const toggle = async () => {
    try {
      await api.call('PATCH', base(endpoint), { disabled: !endpoint.disabled });
      props.onChanged();
    } catch (error) {
      props.onError(describeError(error));
    }
  };
  return (
    <div class="actions">
      <a href={`#deliveries/${encodeURIComponent(endpoint.id)}`}>Deliveries</a>
      <button type="button" onClick={() => props.onOpen('edit')}>
        Edit
      </button>
      <button type="button" onClick={() => props.onOpen('rotate')}>
        Rotate secret
      </button>
      <button type="button" onClick={toggle}>
        {endpoint.disabled ? 'Enable' : 'Disable'}
      </button>
      <button type="button" onClick={() => props.onOpen('replay')}>
        Replay
      </button>
      <button type="button" onClick={() => props.onOpen('delete')}>
        Delete
      </button>
    </div>
  );
}

/** The open panel of one endpoint: its edit form, the rotated secret, a replay's range, or the delete confirmation. */
export function EndpointActions(props: {
  api: Api;
  endpoint: WebhookEndpointInfo;
  mode: ActionMode;
  onChanged: () => void;
  onClose: () => void;
}) {
  const { api, endpoint, mode } = props;
  const [result, setResult] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const run = async (action: () => Promise<string | undefined>) => {
    try {
      setError(undefined);
      const done = await action();
      props.onChanged();
      if (done === undefined) props.onClose();
      else setResult(done);
    } catch (failure) {
      setError(describeError(failure));
    }
  };
  const close = (
    <button type="button" onClick={props.onClose}>
      Close
    </button>
  );
  const feedback = (
    <>
      {error !== undefined && <p role="alert">{error}</p>}
      {result !== undefined && <p role="status">{result}</p>}
    </>
  );

  if (mode === 'edit') {
    const save = (fields: EndpointFields) => run(async () => void (await api.call('PATCH', base(endpoint), fields)));
    return (
      <div>
        {feedback}
        <EndpointForm title={`Edit ${endpoint.url}`} submit="Save" initial={endpoint} onSubmit={save} onCancel={props.onClose} />
      </div>
    );
  }
  if (mode === 'rotate') {
    const rotate = () =>
      run(async () => {
        const answer = await api.call<{ secret: string; previousSecretExpiresAt: string }>('POST', `${base(endpoint)}/secret/rotate`, {});
        return `New secret, shown only now: ${answer.secret}. Deliveries are also signed with the previous secret until ${answer.previousSecretExpiresAt}.`;
      });
    return (
      <section class="panel" aria-label={`Rotate the secret of ${endpoint.url}`}>
        <h2>Rotate the secret of {endpoint.url}</h2>
        <p>
          A new signing secret replaces the current one; the current one keeps signing deliveries during a grace period, so that the
          receiver can switch.
        </p>
        {feedback}
        {result === undefined && (
          <button type="button" onClick={rotate}>
            Rotate now
          </button>
        )}{' '}
        {close}
      </section>
    );
  }
  if (mode === 'replay') return <ReplayForm api={api} endpoint={endpoint} onClose={props.onClose} />;
  const remove = () => run(async () => void (await api.call('DELETE', base(endpoint))));
  return (
    <section class="panel" role="alertdialog" aria-label={`Delete ${endpoint.url}`}>
      <h2>Delete {endpoint.url}?</h2>
      <p>
        The endpoint gets no more events, its deliveries waiting for a retry are not sent, and its delivery log goes with it. This cannot be
        undone: to receive events again, add the endpoint anew (with a new secret).
      </p>
      {feedback}
      <button type="button" onClick={remove}>
        Delete for good
      </button>{' '}
      {close}
    </section>
  );
}

/** "Replay": sends the events of a time range again (times in the browser's zone). */
function ReplayForm(props: { api: Api; endpoint: WebhookEndpointInfo; onClose: () => void }) {
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [message, setMessage] = useState<string | undefined>();
  const submit = async (e: Event) => {
    e.preventDefault();
    const body: Record<string, string> = {};
    if (since !== '') body.since = new Date(since).toISOString();
    if (until !== '') body.until = new Date(until).toISOString();
    try {
      const answer = await props.api.call<{ enqueued: number; merged: number; complete: boolean }>(
        'POST',
        `${base(props.endpoint)}/replay`,
        body,
      );
      setMessage(
        `Replay queued: ${answer.enqueued} deliveries${answer.merged > 0 ? `, ${answer.merged} merged into ones already queued` : ''}${answer.complete ? '.' : '; stopped at the tenant\u2019s cap, replay again later for the rest.'}`,
      );
    } catch (error) {
      setMessage(describeError(error));
    }
  };
  return (
    <form class="panel" aria-label={`Replay events to ${props.endpoint.url}`} onSubmit={submit}>
      <h2>Replay events to {props.endpoint.url}</h2>
      <label>
        Since <input type="datetime-local" step={1} value={since} onInput={(e) => setSince((e.target as HTMLInputElement).value)} />
      </label>
      <label>
        Until <input type="datetime-local" step={1} value={until} onInput={(e) => setUntil((e.target as HTMLInputElement).value)} />
      </label>
      {message !== undefined && <p role="status">{message}</p>}
      <div class="actions">
        <button type="submit">Start replay</button>
        <button type="button" onClick={props.onClose}>
          Close
        </button>
      </div>
    </form>
  );
}
