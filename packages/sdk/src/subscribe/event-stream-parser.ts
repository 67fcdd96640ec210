/** One dispatched message of an event stream; `data` is undefined for a message that only set the id. */
export interface EventStreamMessage {
  event: string;
  id: string | undefined;
  data: string | undefined;
}

/**
 * An incremental parser of `text/event-stream` (HTML Living Standard §9.2.6, "Interpreting an event
 * stream"): text is fed as it arrives, in any pieces; lines end with CRLF, LF or CR; comments are
 * skipped; a blank line dispatches the fields read since the last one. `retry` is ignored: the
 * client backs off on its own schedule.
 */
export class EventStreamParser {
  readonly #onMessage: (message: EventStreamMessage) => void;
  #buffer = '';
  /** A CR ended the last piece: an LF at the start of the next one belongs to it. */
  #afterCr = false;
  #event = '';
  #id: string | undefined;
  #data: string[] | undefined;

  constructor(onMessage: (message: EventStreamMessage) => void) {
    this.#onMessage = onMessage;
  }

  feed(text: string): void {
    if (this.#afterCr && text.startsWith('\n')) text = text.slice(1);
    this.#afterCr = false;
    let buffer = this.#buffer + text;
    let end = buffer.search(/[\r\n]/);
    while (end >= 0) {
      const line = buffer.slice(0, end);
      const crlf = buffer[end] === '\r' && buffer[end + 1] === '\n';
      if (buffer[end] === '\r' && end === buffer.length - 1) this.#afterCr = true;
      buffer = buffer.slice(end + (crlf ? 2 : 1));
      this.#line(line);
      end = buffer.search(/[\r\n]/);
    }
    this.#buffer = buffer;
  }

  #line(line: string): void {
    if (line === '') {
      this.#dispatch();
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const name = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (name === 'data') {
      this.#data ??= [];
      this.#data.push(value);
    } else if (name === 'event') this.#event = value;
    else if (name === 'id' && !value.includes('\0')) this.#id = value;
  }

  #dispatch(): void {
    if (this.#data !== undefined || this.#id !== undefined) {
      this.#onMessage({ event: this.#event || 'message', id: this.#id, data: this.#data?.join('\n') });
    }
    this.#event = '';
    this.#id = undefined;
    this.#data = undefined;
  }
}
