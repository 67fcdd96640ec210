import { eventStreamMessage } from '../frames/event-stream.ts';
import { textFrame } from '../frames/frames.ts';

/**
 * One stored event on its way out. It is parsed, serialized and framed at most once per gateway,
 * whatever the number of clients: `event` for filters, `wire` for plain-mode clients, `muxWire`
 * for the multiplexed subscriptions that share an id, `eventStream` for Server-Sent Events streams.
 */
export class Entry {
  readonly offset: string;
  readonly json: string;
  #event: Record<string, unknown> | undefined;
  #frameText: string | undefined;
  #wire: Buffer | undefined;
  #eventStream: Buffer | undefined;
  /** Multiplexed frames by message prefix: one slot, then a map when subscriptions with other ids get it too. */
  #muxPrefix: string | undefined;
  #muxWire: Buffer | undefined;
  #muxMore: Map<string, Buffer> | undefined;

  constructor(offset: string, json: string) {
    this.offset = offset;
    this.json = json;
  }

  /** The event as an object, for filters. */
  get event(): Record<string, unknown> {
    this.#event ??= JSON.parse(this.json) as Record<string, unknown>;
    return this.#event;
  }

  /** The structured-mode event with the `relayoffset` extension added, as text. */
  get frameText(): string {
    // The stored JSON is an object: splice the attribute in after its opening brace.
    this.#frameText ??= `{"relayoffset":"${this.offset}",${this.json.slice(1)}`;
    return this.#frameText;
  }

  /** The plain-mode WebSocket frame (header and `frameText`), shared by every plain-mode client. */
  get wire(): Buffer {
    this.#wire ??= textFrame(this.frameText);
    return this.#wire;
  }

  /** The Server-Sent Events message (`id:` the offset, `data:` `frameText`), shared by every SSE stream. */
  get eventStream(): Buffer {
    this.#eventStream ??= eventStreamMessage(this.offset, this.frameText);
    return this.#eventStream;
  }

  /**
   * The multiplexed-mode frame of the message `<prefix><frameText>}`, where the prefix names the
   * subscription (`{"op":"event","id":"…","event":`); built once per prefix.
   */
  muxWire(prefix: string): Buffer {
    if (this.#muxPrefix === prefix) return this.#muxWire!;
    if (this.#muxPrefix === undefined) {
      this.#muxPrefix = prefix;
      this.#muxWire = textFrame(`${prefix}${this.frameText}}`);
      return this.#muxWire;
    }
    this.#muxMore ??= new Map();
    let frame = this.#muxMore.get(prefix);
    if (frame === undefined) {
      frame = textFrame(`${prefix}${this.frameText}}`);
      this.#muxMore.set(prefix, frame);
    }
    return frame;
  }
}
