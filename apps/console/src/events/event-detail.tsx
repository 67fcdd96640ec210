import type { ListedEvent } from './events-view.tsx';

/** The selected event's JSON, formatted. */
export function EventDetail(props: { listed: ListedEvent; onClose: () => void }) {
  return (
    <section class="detail" aria-labelledby="event-detail-title">
      <h2 id="event-detail-title">Event {props.listed.offset}</h2>
      <pre>{JSON.stringify(props.listed.event, null, 2)}</pre>
      <button type="button" onClick={props.onClose}>
        Close event
      </button>
    </section>
  );
}
