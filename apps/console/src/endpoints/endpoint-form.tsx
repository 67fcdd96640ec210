import { useState } from 'preact/hooks';
import type { Filter, WebhookEndpointInfo } from '../api.ts';

/** What the endpoint form edits: the fields of a create or a PATCH. */
export interface EndpointFields {
  url: string;
  description: string;
  filters: Filter[];
}

/** The type prefix of an endpoint's filters, when they are one `prefix` on `type` (what this form writes). */
export function typePrefixOf(filters: Filter[]): string {
  const first = filters[0] as { prefix?: Record<string, string> } | undefined;
  return filters.length === 1 && first?.prefix?.type !== undefined ? first.prefix.type : '';
}

/** Shows an endpoint's filters in one line. */
export function describeFilters(filters: Filter[]): string {
  if (filters.length === 0) return 'every event';
  const prefix = typePrefixOf(filters);
  return prefix !== '' ? `type starts with ${prefix}` : JSON.stringify(filters);
}

/** The "Add endpoint" and "Edit" form: URL, description, and an event type prefix. */
export function EndpointForm(props: {
  title: string;
  submit: string;
  initial?: WebhookEndpointInfo;
  onSubmit: (fields: EndpointFields) => void;
  onCancel: () => void;
}) {
  const [url, setUrl] = useState(props.initial?.url ?? '');
  const [description, setDescription] = useState(props.initial?.description ?? '');
  const [prefix, setPrefix] = useState(props.initial === undefined ? '' : typePrefixOf(props.initial.filters));
  const keepsOtherFilters = props.initial !== undefined && props.initial.filters.length > 0 && typePrefixOf(props.initial.filters) === '';
  return (
    <form
      class="panel"
      aria-label={props.title}
      onSubmit={(e) => {
        e.preventDefault();
        const filters: Filter[] = prefix.trim() === '' ? [] : [{ prefix: { type: prefix.trim() } }];
        props.onSubmit({
          url: url.trim(),
          description,
          filters: keepsOtherFilters && prefix.trim() === '' ? props.initial!.filters : filters,
        });
      }}
    >
      <h2>{props.title}</h2>
      <label>
        URL <input type="url" required value={url} onInput={(e) => setUrl((e.target as HTMLInputElement).value)} />
      </label>
      <label>
        Description <input value={description} onInput={(e) => setDescription((e.target as HTMLInputElement).value)} />
      </label>
      <label>
        Event type filter{' '}
        <input
          value={prefix}
          placeholder="com.qlik. (empty: every event)"
          onInput={(e) => setPrefix((e.target as HTMLInputElement).value)}
        />
      </label>
      <p class="hint">Only events whose type starts with this prefix are delivered.</p>
      <div class="actions">
        <button type="submit">{props.submit}</button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
