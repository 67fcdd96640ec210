/**
 * One stored event on its way out. It is parsed and serialized at most once per gateway, whatever
 * the number of clients: `event` for filters, `frame` for plain-mode clients.
 */
export class Entry {
  readonly offset: string;
  readonly json: string;
  #event: Record<string, unknown> | undefined;
  #frame: Buffer | undefined;
  #frameText: string | undefined;

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

  /** `frameText` as UTF-8 bytes, shared by every plain-mode client. */
  get frame(): Buffer {
    this.#frame ??= Buffer.from(this.frameText);
    return this.#frame;
  }
}
