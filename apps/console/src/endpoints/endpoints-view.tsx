import { useEffect, useState } from 'preact/hooks';
import { type Api, describeError, type WebhookEndpointInfo } from '../api.ts';
import { type ActionMode, EndpointActions, EndpointButtons } from './endpoint-actions.tsx';
import { describeFilters, type EndpointFields, EndpointForm } from './endpoint-form.tsx';

/** "Endpoints": the tenant's webhook endpoints, with adding one and acting on each. */
export function EndpointsView(props: { api: Api }) {
  const { api } = props;
  const [endpoints, setEndpoints] = useState<WebhookEndpointInfo[] | undefined>();
  const [adding, setAdding] = useState(false);
  const [created, setCreated] = useState<{ url: string; secret: string } | undefined>();
  const [message, setMessage] = useState<string | undefined>();
  const [open, setOpen] = useState<{ id: string; mode: ActionMode } | undefined>();

  const reload = () =>
    api.endpoints().then(
      (answer) => setEndpoints(answer.webhooks),
      (error: unknown) => setMessage(describeError(error)),
    );
  useEffect(() => {
    void reload();
  }, [api]);

  const add = async (fields: EndpointFields) => {
    try {
      const endpoint = await api.call<WebhookEndpointInfo & { secret: string }>('POST', '/webhooks', fields);
      setCreated({ url: endpoint.url, secret: endpoint.secret });
      setAdding(false);
      setMessage(undefined);
      await reload();
    } catch (error) {
      setMessage(describeError(error));
    }
  };

  return (
    <section aria-labelledby="endpoints-title">
      <h1 id="endpoints-title">Endpoints of {api.tenant}</h1>
      {message !== undefined && <p role="alert">{message}</p>}
      {created !== undefined && (
        <div class="panel secret" role="status">
          <p>
            Endpoint {created.url} added. Its signing secret, shown only now: <code class="mono">{created.secret}</code>
          </p>
          <button type="button" onClick={() => setCreated(undefined)}>
            I have copied the secret
          </button>
        </div>
      )}
      {adding ? (
        <EndpointForm title="New endpoint" submit="Add" onSubmit={add} onCancel={() => setAdding(false)} />
      ) : (
        <button type="button" onClick={() => setAdding(true)}>
          Add endpoint
        </button>
      )}
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">Webhook endpoints</caption>
          <thead>
            <tr>
              <th scope="col">URL</th>
              <th scope="col">Filters</th>
              <th scope="col">State</th>
              <th scope="col">Failing since</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {(endpoints ?? []).map((endpoint) => (
              <tr key={endpoint.id}>
                <td>
                  <span class="mono">{endpoint.url}</span>
                  {endpoint.description !== '' && <div class="hint">{endpoint.description}</div>}
                </td>
                <td>{describeFilters(endpoint.filters)}</td>
                <td>{endpoint.disabled ? `Disabled: ${endpoint.disabledDetail ?? endpoint.disabledReason}` : 'Enabled'}</td>
                <td>{endpoint.failingSince ?? '—'}</td>
                <td>
                  <EndpointButtons
                    api={api}
                    endpoint={endpoint}
                    onOpen={(mode) => setOpen({ id: endpoint.id, mode })}
                    onChanged={reload}
                    onError={setMessage}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {endpoints?.length === 0 && <p>No endpoints yet: add one to get this tenant's events as webhooks.</p>}
      </div>
      {endpoints
        ?.filter((e) => e.id === open?.id)
        .map((endpoint) => (
          <EndpointActions
            key={`${endpoint.id}-${open?.mode}`}
            api={api}
            endpoint={endpoint}
            mode={open!.mode}
            onChanged={reload}
            onClose={() => setOpen(undefined)}
          />
        ))}
    </section>
  );
}
