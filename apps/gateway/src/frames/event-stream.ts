/**
 * Server-Sent Events messages (HTML Living Standard §9.2, "Server-sent events"), built once and
 * written as they are to every stream that gets them. A message is `field: value` lines ended by a
 * blank line; a value never holds a line break, which the stored JSON never does (one event per
 * line in a live notification, docs/storage.md).
 */

/** `id: <offset>` and `data: <json>`: one event, whose offset a client resumes after (Last-Event-ID). */
export function eventStreamMessage(id: string, data: string): Buffer {
  return Buffer.from(`id: ${id}\ndata: ${data}\n\n`, 'utf8');
}

/**
 * An `id:` line alone: it dispatches no event, but sets the client's last event ID (the standard's
 * dispatch step 1), so that a client that got no event yet resumes from where its stream started.
 */
export function eventStreamId(id: string): Buffer {
  return Buffer.from(`id: ${id}\n\n`, 'utf8');
}

/** `event: error` with the shared error body, `{"error":{"code","message"}}`, sent before a stream ends. */
export function eventStreamError(code: string, message: string): Buffer {
  return Buffer.from(`event: error\ndata: ${JSON.stringify({ error: { code, message } })}\n\n`, 'utf8');
}

/** A comment line: a heartbeat that keeps proxies from closing an idle stream, ignored by clients. */
export const EVENT_STREAM_HEARTBEAT: Buffer = Buffer.from(':\n\n', 'utf8');
