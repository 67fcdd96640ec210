import { useEffect, useState } from 'preact/hooks';
import { type Api, type DeliveryAttemptInfo, type DeliveryInfo, describeError } from '../api.ts';

/** An endpoint's "Deliveries": newest first, by status, a page at a time, each with its attempts. */
export function DeliveriesView(props: { api: Api; endpointId: string }) {
  const { api, endpointId } = props;
  const [status, setStatus] = useState('');
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  const [page, setPage] = useState<{ deliveries: DeliveryInfo[]; next: string | null } | undefined>();
  const [message, setMessage] = useState<string | undefined>();
  const [open, setOpen] = useState<string | undefined>();
  const cursor = cursors.at(-1) ?? null;

  const reload = () => api.deliveries(endpointId, status, cursor).then(setPage, (error: unknown) => setMessage(describeError(error)));
  useEffect(() => {
    void reload();
  }, [api, endpointId, status, cursor]);

  const retry = async (delivery: DeliveryInfo) => {
    try {
      await api.call('POST', `/webhooks/${encodeURIComponent(endpointId)}/deliveries/${encodeURIComponent(delivery.id)}/retry`);
      setMessage(`Retry of ${delivery.id} queued.`);
      await reload();
    } catch (error) {
      setMessage(describeError(error));
    }
  };
  const retryFailed = async () => {
    try {
      const answer = await api.call<{ retried: number }>('POST', `/webhooks/${encodeURIComponent(endpointId)}/deliveries/retry-failed`);
      setMessage(`${answer.retried} failed deliveries queued again.`);
      await reload();
    } catch (error) {
      setMessage(describeError(error));
    }
  };

  return (
    <section aria-labelledby="deliveries-title">
      <h1 id="deliveries-title">Deliveries to endpoint {endpointId}</h1>
      <p>
        <a href="#endpoints">Back to endpoints</a>
      </p>
      {message !== undefined && <p role="status">{message}</p>}
      <div class="toolbar">
        <label>
          Status{' '}
          <select
            value={status}
            onChange={(e) => {
              setStatus((e.target as HTMLSelectElement).value);
              setCursors([null]);
            }}
          >
            <option value="">all</option>
            <option value="pending">pending</option>
            <option value="succeeded">succeeded</option>
            <option value="failed">failed</option>
          </select>
        </label>
        <button type="button" onClick={() => void reload()}>
          Refresh
        </button>
        <button type="button" onClick={retryFailed}>
          Retry all failed
        </button>
      </div>
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">Deliveries, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Delivery (webhook-id)</th>
              <th scope="col">Event type</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Last attempt</th>
              <th scope="col">Last error</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {(page?.deliveries ?? []).map((delivery) => (
              <DeliveryRow
                key={delivery.id}
                delivery={delivery}
                open={open === delivery.id}
                onToggle={() => setOpen(open === delivery.id ? undefined : delivery.id)}
                onRetry={() => retry(delivery)}
                onMessage={setMessage}
              />
            ))}
          </tbody>
        </table>
        {page?.deliveries.length === 0 && <p>No deliveries{status === '' ? '' : ` with status ${status}`} yet.</p>}
      </div>
      <Pager
        hasPrevious={cursors.length > 1}
        next={page?.next ?? null}
        onPrevious={() => setCursors(cursors.slice(0, -1))}
        onNext={(next) => setCursors([...cursors, next])}
      />
      {open !== undefined && <Attempts api={api} endpointId={endpointId} deliveryId={open} />}
    </section>
  );
}

/** Previous and Next page, where there are such pages. */
function Pager(props: { hasPrevious: boolean; next: string | null; onPrevious: () => void; onNext: (next: string) => void }) {
  const { next } = props;
  return (
    <div class="actions">
      {props.hasPrevious && (
        <button type="button" onClick={props.onPrevious}>
          Previous page
        </button>
      )}
      {next !== null && (
        <button type="button" onClick={() => props.onNext(next)}>
          Next page
        </button>
      )}
    </div>
  );
}

/** One delivery: its id (opens its attempts), Copy, type, status, attempts, last attempt and error, Retry. */
function DeliveryRow(props: {
  delivery: DeliveryInfo;
  open: boolean;
  onToggle: () => void;
  onRetry: () => void;
  onMessage: (message: string) => void;
}) {
  const { delivery } = props;
  return (
    <tr>
      <td>
        <button type="button" class="link mono" aria-expanded={props.open} onClick={props.onToggle}>
          {delivery.id}
        </button>{' '}
        <button
          type="button"
          aria-label={`Copy ${delivery.id}`}
          onClick={() => void navigator.clipboard?.writeText(delivery.id).then(() => props.onMessage(`Copied ${delivery.id}.`))}
        >
          Copy
        </button>
      </td>
      <td>{delivery.eventType ?? ''}</td>
      <td>
        <span class={`badge badge-${delivery.status}`}>{delivery.status}</span>
        {delivery.lastStatus !== null && ` (HTTP ${delivery.lastStatus})`}
      </td>
      <td>{delivery.attempts}</td>
      <td>{delivery.lastAttemptAt ?? '—'}</td>
      <td>{delivery.lastError ?? ''}</td>
      <td>
        <button type="button" onClick={props.onRetry}>
          Retry
        </button>
      </td>
    </tr>
  );
}

/** A delivery's attempts: time, status, duration and the start of the answer's body. */
function Attempts(props: { api: Api; endpointId: string; deliveryId: string }) {
  const [attempts, setAttempts] = useState<DeliveryAttemptInfo[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    props.api.delivery(props.endpointId, props.deliveryId).then(
      (delivery) => setAttempts(delivery.attemptLog),
      (failure: unknown) => setError(describeError(failure)),
    );
  }, [props.deliveryId]);
  return (
    <section class="panel" aria-labelledby="attempts-title">
      <h2 id="attempts-title">Attempts of {props.deliveryId}</h2>
      {error !== undefined && <p role="alert">{error}</p>}
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">HTTP status</th>
              <th scope="col">Duration</th>
              <th scope="col">Response body (start)</th>
            </tr>
          </thead>
          <tbody>
            {(attempts ?? []).map((attempt) => (
              <tr key={attempt.at}>
                <td>{attempt.at}</td>
                <td>{attempt.status ?? attempt.error ?? 'no answer'}</td>
                <td>{attempt.durationMs} ms</td>
                <td class="mono">{(attempt.responseBody ?? '').slice(0, 200)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
