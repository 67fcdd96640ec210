import { type ReceivedEvent, type SubscriptionStatus, SYSTEM_EVENT_PREFIX, subscribe } from '@tenantcast/sdk';
import { useEffect, useRef, useState } from 'preact/hooks';
import { type Api, describeError } from '../api.ts';
import { EventDetail } from './event-detail.tsx';
import { loadOlder } from './load-older.ts';

/** An event as the console lists it: the CloudEvent and its stream offset. */
export interface ListedEvent {
  offset: string;
  event: Record<string, unknown> & { id?: string; type?: string; source?: string; time?: string };
}

/** Most events kept in the list; older ones drop off the end (Load older brings them back). */
const MAX_EVENTS = 1000;

const STATUS_TEXT: Record<SubscriptionStatus, string> = {
  connecting: 'Connecting…',
  open: 'Live',
  reconnecting: 'Reconnecting…',
  closed: 'Disconnected',
};

/** "Events": the tenant's events live over the gateway, newest first, with older ones on demand. */
export function EventsView(props: { api: Api; gatewayUrl: string }) {
  const { api, gatewayUrl } = props;
  const [events, setEvents] = useState<ListedEvent[]>([]);
  const [status, setStatus] = useState<SubscriptionStatus>('connecting');
  const [failure, setFailure] = useState<string | undefined>();
  const [paused, setPaused] = useState(false);
  const [waiting, setWaiting] = useState<ListedEvent[]>([]);
  const [typeFilter, setTypeFilter] = useState('');
  const [selected, setSelected] = useState<ListedEvent | undefined>();
  const [older, setOlder] = useState<{ busy: boolean; more: boolean; error?: string }>({ busy: false, more: true });
  const pausedRef = useRef(paused);
  pausedRef.current = paused;

  useEffect(() => {
    const subscription = subscribe({ url: gatewayUrl, token: api.token, tenantid: api.tenant, onStatus: setStatus });
    (async () => {
      try {
        for await (const event of subscription) {
          const listed = toListed(event);
          if (pausedRef.current) setWaiting((w) => [listed, ...w]);
          else setEvents((list) => [listed, ...list].slice(0, MAX_EVENTS));
        }
      } catch (error) {
        setFailure(describeError(error));
      }
    })();
    return () => subscription.close();
  }, [api, gatewayUrl]);

  const togglePause = () => {
    if (paused) {
      setEvents((list) => [...waiting, ...list].slice(0, MAX_EVENTS));
      setWaiting([]);
    }
    setPaused(!paused);
  };
  const onLoadOlder = async () => {
    setOlder({ busy: true, more: older.more });
    try {
      const page = await loadOlder((before, limit) => api.eventsBefore(before, limit), events.at(-1)?.offset);
      setEvents((list) => [...list, ...page.events.reverse()]);
      setOlder({ busy: false, more: page.more });
    } catch (error) {
      setOlder({ busy: false, more: true, error: describeError(error) });
    }
  };

  const shown = typeFilter === '' ? events : events.filter((e) => String(e.event.type ?? '').includes(typeFilter));
  const statusLine = failure ?? (paused ? `Paused: ${waiting.length} new events waiting (behind)` : STATUS_TEXT[status]);
  return (
    <section aria-labelledby="events-title">
      <h1 id="events-title">Events of {api.tenant}</h1>
      <p role="status" class={`status status-${failure === undefined ? (paused ? 'behind' : status) : 'failed'}`}>
        {statusLine}
      </p>
      <div class="toolbar">
        <label>
          Type filter{' '}
          <input value={typeFilter} onInput={(e) => setTypeFilter((e.target as HTMLInputElement).value)} placeholder="com.example." />
        </label>
        <button type="button" aria-pressed={paused} onClick={togglePause}>
          Pause
        </button>
      </div>
      <div class="split">
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Events, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Type</th>
                <th scope="col">Id</th>
                <th scope="col">Offset</th>
                <th scope="col">Source</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((e) => (
                <EventRow key={e.offset} listed={e} selected={selected?.offset === e.offset} onSelect={() => setSelected(e)} />
              ))}
            </tbody>
          </table>
          {shown.length === 0 && <p>No events yet. New ones appear here as they are published.</p>}
          <p>
            <button type="button" onClick={onLoadOlder} disabled={older.busy || !older.more}>
              Load older
            </button>{' '}
            {older.error !== undefined && <span role="alert">{older.error}</span>}
            {!older.more && 'No older events are retained.'}
          </p>
        </div>
        {selected !== undefined && <EventDetail listed={selected} onClose={() => setSelected(undefined)} />}
      </div>
    </section>
  );
}

function EventRow(props: { listed: ListedEvent; selected: boolean; onSelect: () => void }) {
  const { event, offset } = props.listed;
  const type = String(event.type ?? '');
  const system = type.startsWith(SYSTEM_EVENT_PREFIX);
  return (
    <tr class={props.selected ? 'selected' : undefined}>
      <td>{event.time ?? storedAt(offset)}</td>
      <td>
        <button type="button" class="link" aria-pressed={props.selected} onClick={props.onSelect}>
          {type}
        </button>
        {system && <span class="badge">system</span>}
      </td>
      <td class="mono">{event.id ?? ''}</td>
      <td class="mono">{offset}</td>
      <td>{event.source ?? ''}</td>
    </tr>
  );
}

function toListed(event: ReceivedEvent): ListedEvent {
  const { relayoffset, ...rest } = event as ReceivedEvent & Record<string, unknown>;
  return { offset: relayoffset, event: rest as ListedEvent['event'] };
}

/** When the relay stored an event: its offset starts with the time in ms (the Time column's fallback for events without `time`). */
function storedAt(offset: string): string {
  const ms = Number(offset.split('-')[0]);
  return Number.isFinite(ms) && ms > 0 ? new Date(ms).toISOString() : '';
}
