import { type BackoffOptions, backoffDelay, parseRetryAfter, RETRYABLE_STATUS, sleep } from '../backoff.ts';
import { describeIssues, TenantcastError, type ValidationIssue } from '../errors.ts';
import { defaultRegistry, type EventRegistry } from '../registry.ts';
import type { CloudEvent } from '../schemas/envelope.ts';
import { abortAfter } from './abort-after.ts';
import { AdminMethods, type PortalLink } from './admin-methods.ts';
import type { StoredEvent } from './history-methods.ts';
import {
  callRelay,
  type DeliveryAttemptInfo,
  type DeliveryInfo,
  type DeliveryStatus,
  type ErrorBody,
  utf8Length,
  type WebhookCatchUp,
  type WebhookEndpointInfo,
  type WebhookInput,
  type WebhookPatch,
} from './relay-api.ts';

export type {
  DeliveryAttemptInfo,
  DeliveryInfo,
  DeliveryStatus,
  PortalLink,
  StoredEvent,
  WebhookCatchUp,
  WebhookEndpointInfo,
  WebhookInput,
  WebhookPatch,
};

/** Where one published event was stored. */
export interface PublishResult {
  id: string;
  source: string;
  /** The Redis Stream entry id; for a duplicate, the offset of the copy stored first. */
  offset: string;
  /** True when the relay had the event (same `source` and `id`) already. */
  duplicate: boolean;
}

export interface RelayClientOptions {
  /** Base URL of the relay, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** A token with `publish` scope, or a function that returns one (called per request, for rotation). */
  token: string | (() => string | Promise<string>);
  /** Most events in one request. Default 100 (the relay's default cap, RELAY_MAX_BATCH_EVENTS, is 500). */
  maxBatchSize?: number;
  /** Most bytes of serialized events in one request. Default 256 KiB, the relay's default cap (RELAY_MAX_BATCH_BYTES). */
  maxBatchBytes?: number;
  /** How long to wait for more events before sending a batch, in ms. Default 0: the current tick. */
  lingerMs?: number;
  /** Attempts per request, the first included. Default 10. */
  maxAttempts?: number;
  /** Longest `Retry-After` honoured, in ms; longer ones are cut to this. Default 60,000. */
  maxRetryAfterMs?: number;
  /** Backoff between attempts; a `Retry-After` from the relay takes precedence. */
  backoff?: BackoffOptions;
  /** Timeout of one HTTP attempt, in ms. Default 10,000. */
  timeoutMs?: number;
  /** Validates events before sending. Default: the SDK's registry; `null` turns local validation off. */
  registry?: EventRegistry<any> | null;
  /** A fetch implementation. Default: the global one. */
  fetch?: typeof fetch;
}

interface Item {
  event: CloudEvent;
  json: string;
  /** UTF-8 length of `json`. */
  bytes: number;
  resolve(result: PublishResult): void;
  reject(error: unknown): void;
}

interface Lane {
  tenant: string;
  pending: Item[];
  draining: Promise<void> | undefined;
  scheduled: boolean;
}

interface Accepted {
  accepted: PublishResult[];
}

/** What a RelayClient without a `fetch` option uses, when an entry point sets it (the SDK's Node entry does). */
let defaultFetch: (() => typeof fetch) | undefined;

/**
 * Sets the `fetch` RelayClients use by default. The SDK's entry for Node (`index.node.ts`, chosen
 * by the `node` export condition) sets one over `node:http` (`createNodeFetch`); browsers and other
 * runtimes keep the global `fetch`. Not part of the public API.
 */
export function setDefaultFetch(make: () => typeof fetch): void {
  defaultFetch = make;
}

/**
 * Publishes CloudEvents to a tenantcast relay. Calls made close together are batched per tenant,
 * a tenant's batches are sent one at a time (so its events are stored in publish order), and
 * failures that may be transient are retried with backoff: the relay dedupes by `source` and `id`,
 * so a retry never stores an event twice.
 * @example
 * const relay = new RelayClient({ url: 'http://127.0.0.1:8080', token });
 * const { offset } = await relay.publish(createEvent('com.qlik.web-integration.deleted', { ... }));
 */
export class RelayClient extends AdminMethods {
  readonly #endpoint: string;
  readonly #base: string;
  readonly #token: RelayClientOptions['token'];
  readonly #maxBatchSize: number;
  readonly #maxBatchBytes: number;
  readonly #lingerMs: number;
  readonly #maxAttempts: number;
  readonly #backoff: BackoffOptions;
  readonly #maxRetryAfterMs: number;
  readonly #timeoutMs: number;
  readonly #registry: EventRegistry<any> | null;
  readonly #fetch: typeof fetch;
  readonly #lanes = new Map<string, Lane>();
  readonly #closing = new AbortController();
  #closed = false;

  constructor(options: RelayClientOptions) {
    super();
    let base: URL;
    try {
      base = new URL(options.url);
    } catch (cause) {
      throw new TenantcastError(
        'TC_ERR_BAD_OPTIONS',
        `RelayClient: "url" must be an absolute URL such as http://127.0.0.1:8080, got "${options.url}".`,
        { cause },
      );
    }
    this.#base = base.href.endsWith('/') ? base.href : `${base.href}/`;
    this.#endpoint = new URL('v1/events', this.#base).href;
    this.#token = options.token;
    this.#maxBatchSize = options.maxBatchSize ?? 100;
    this.#maxBatchBytes = options.maxBatchBytes ?? 256 * 1024;
    this.#lingerMs = options.lingerMs ?? 0;
    this.#maxAttempts = options.maxAttempts ?? 10;
    this.#backoff = options.backoff ?? {};
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
    for (const name of ['maxBatchSize', 'maxBatchBytes', 'maxAttempts', 'timeoutMs'] as const) {
      const value = options[name];
      if (value !== undefined && !(Number.isInteger(value) && value >= 1)) {
        throw new TenantcastError('TC_ERR_BAD_OPTIONS', `RelayClient: "${name}" must be a whole number of 1 or more, got ${value}.`);
      }
    }
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#registry = options.registry === undefined ? defaultRegistry : options.registry;
    this.#fetch = options.fetch ?? defaultFetch?.() ?? globalThis.fetch.bind(globalThis);
  }

  /**
   * Publishes one event, or several (validated together: one invalid event rejects the call and
   * sends nothing). Resolves with where each event was stored, in the order given.
   */
  publish(event: CloudEvent): Promise<PublishResult>;
  publish(events: readonly CloudEvent[]): Promise<PublishResult[]>;
  publish(input: CloudEvent | readonly CloudEvent[]): Promise<PublishResult | PublishResult[]> {
    if (this.#closed) {
      return Promise.reject(new TenantcastError('TC_ERR_BAD_OPTIONS', 'RelayClient is closed; create a new one to publish.'));
    }
    const events = Array.isArray(input) ? (input as readonly CloudEvent[]) : [input as CloudEvent];
    if (this.#registry !== null) {
      const result = this.#registry.validateBatch(events);
      if (!result.ok) {
        const issues = Array.isArray(input) ? result.issues : result.issues.map(({ index: _, ...rest }) => rest);
        return Promise.reject(
          new TenantcastError('TC_ERR_VALIDATION', `Invalid CloudEvent: ${describeIssues(issues)}`, { details: issues }),
        );
      }
    }
    const promises = events.map((event) => this.#enqueue(event));
    return Array.isArray(input) ? Promise.all(promises) : (promises[0] as Promise<PublishResult>);
  }

  /** One JSON call of the relay's API, for the webhook methods (webhook-methods.ts). */
  protected call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return callRelay<T>({ base: this.#base, token: this.#token, timeoutMs: this.#timeoutMs, fetch: this.#fetch }, method, path, body);
  }

  /** Resolves once every event handed to `publish` so far has been sent (or has failed). */
  async flush(): Promise<void> {
    while (true) {
      const draining = [...this.#lanes.values()].map((lane) => (lane.pending.length > 0 ? this.#drain(lane) : lane.draining));
      const active = draining.filter((d): d is Promise<void> => d !== undefined);
      if (active.length === 0) return;
      await Promise.all(active);
    }
  }

  /** Sends what is pending, then refuses further publishes. Pending retries are cut short when `abort` is true. */
  async close(options: { abort?: boolean } = {}): Promise<void> {
    this.#closed = true;
    if (options.abort) this.#closing.abort(new TenantcastError('TC_ERR_PUBLISH_FAILED', 'RelayClient closed before the event was stored.'));
    await this.flush();
  }

  #enqueue(event: CloudEvent): Promise<PublishResult> {
    return new Promise<PublishResult>((resolve, reject) => {
      const tenant = String(event.tenantid);
      let lane = this.#lanes.get(tenant);
      if (lane === undefined) {
        lane = { tenant, pending: [], draining: undefined, scheduled: false };
        this.#lanes.set(tenant, lane);
      }
      const json = JSON.stringify(event);
      lane.pending.push({ event, json, bytes: utf8Length(json), resolve, reject });
      this.#schedule(lane);
    });
  }

  #schedule(lane: Lane): void {
    if (lane.scheduled || lane.draining !== undefined) return;
    lane.scheduled = true;
    const run = () => {
      lane.scheduled = false;
      void this.#drain(lane);
    };
    if (this.#lingerMs > 0) setTimeout(run, this.#lingerMs);
    else queueMicrotask(run);
  }

  /** Sends a lane's pending events, one batch at a time, until none are left. */
  #drain(lane: Lane): Promise<void> {
    // With nothing pending the async body would finish (and clear `draining`) before `??=` stores
    // its promise, leaving a settled promise that blocks the lane for good.
    if (lane.draining === undefined && lane.pending.length === 0) return Promise.resolve();
    lane.draining ??= (async () => {
      try {
        while (lane.pending.length > 0) await this.#send(this.#takeBatch(lane));
      } finally {
        lane.draining = undefined;
        // Forget idle lanes, so that a long-lived publisher to many tenants does not grow.
        if (lane.pending.length === 0 && !lane.scheduled) this.#lanes.delete(lane.tenant);
      }
    })();
    return lane.draining;
  }

  #takeBatch(lane: Lane): Item[] {
    let bytes = 0;
    let count = 0;
    for (const item of lane.pending) {
      // +1 for the comma or bracket that joins it into the batch.
      if (count >= this.#maxBatchSize || (count > 0 && bytes + item.bytes + 1 > this.#maxBatchBytes)) break;
      bytes += item.bytes + 1;
      count++;
    }
    return lane.pending.splice(0, count);
  }

  /** Sends one batch with retries, settling every item's promise. */
  async #send(items: Item[]): Promise<void> {
    try {
      const response = await this.#post(items);
      if (response.status === 202) {
        const body = (await response.json().catch((cause: unknown) => {
          throw new TenantcastError(
            'TC_ERR_PUBLISH_FAILED',
            'The relay answered 202 with a body that is not JSON; is the URL a tenantcast relay?',
            {
              status: 202,
              cause,
            },
          );
        })) as Accepted;
        items.forEach((item, i) => {
          const result = body.accepted?.[i];
          if (result === undefined)
            item.reject(new TenantcastError('TC_ERR_PUBLISH_FAILED', 'The relay answered 202 without a result for this event.'));
          else item.resolve(result);
        });
        return;
      }
      const body = (await response.json().catch(() => ({}))) as ErrorBody;
      const message = body.error?.message ?? `The relay answered ${response.status}.`;
      const details = body.error?.details ?? [];
      if (response.status === 413 && items.length > 1) {
        // The relay's body limit is lower than ours: send the batch in halves.
        const half = Math.ceil(items.length / 2);
        await this.#send(items.slice(0, half));
        await this.#send(items.slice(half));
        return;
      }
      // Only when some detail names an event of this batch: otherwise nothing is rejected and the resend would loop.
      if (response.status === 400 && items.length > 1 && details.some((d) => Number.isInteger(d.index) && items[d.index!] !== undefined)) {
        // Only the events the relay named are bad; the others were batched with them by this client.
        const bad = new Map<number, ValidationIssue[]>();
        for (const d of details) if (d.index !== undefined) bad.set(d.index, [...(bad.get(d.index) ?? []), d]);
        const good: Item[] = [];
        items.forEach((item, i) => {
          const issues = bad.get(i);
          if (issues === undefined) {
            good.push(item);
            return;
          }
          const own = issues.map(({ index: _, ...rest }) => rest);
          item.reject(
            new TenantcastError('TC_ERR_PUBLISH_REJECTED', `The relay refused the event: ${describeIssues(own)}`, {
              status: 400,
              details: own,
            }),
          );
        });
        if (good.length > 0) await this.#send(good);
        return;
      }
      const error = new TenantcastError('TC_ERR_PUBLISH_REJECTED', `${response.status} ${body.error?.code ?? ''}: ${message}`.trim(), {
        status: response.status,
        details,
      });
      for (const item of items) item.reject(error);
    } catch (error) {
      for (const item of items) item.reject(error);
    }
  }

  /** POSTs a batch; retries network errors, timeouts, 5xx and 429 until an answer that is final. */
  async #post(items: Item[]): Promise<Response> {
    const single = items.length === 1;
    const body = single ? items[0]!.json : `[${items.map((i) => i.json).join(',')}]`;
    const contentType = single ? 'application/cloudevents+json; charset=utf-8' : 'application/cloudevents-batch+json; charset=utf-8';
    let lastError: unknown;
    for (let attempt = 0; attempt < this.#maxAttempts; attempt++) {
      let waitMs: number | undefined;
      const attemptAbort = abortAfter(this.#timeoutMs, this.#closing.signal);
      try {
        const token = typeof this.#token === 'function' ? await this.#token() : this.#token;
        const response = await this.#fetch(this.#endpoint, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
          body,
          signal: attemptAbort.signal,
        });
        if (!RETRYABLE_STATUS.has(response.status)) {
          // The body is read within the attempt, under its timeout, so that nothing outlives it.
          const text = await response.text();
          return new Response(text, { status: response.status, headers: response.headers });
        }
        waitMs = parseRetryAfter(response.headers.get('retry-after'));
        lastError = new TenantcastError('TC_ERR_PUBLISH_FAILED', `The relay answered ${response.status}.`, { status: response.status });
        await response.body?.cancel();
      } catch (error) {
        if (this.#closing.signal.aborted) throw this.#closing.signal.reason;
        lastError = error;
      } finally {
        attemptAbort.dispose();
      }
      if (attempt + 1 < this.#maxAttempts) {
        const delay = waitMs === undefined ? backoffDelay(attempt, this.#backoff) : Math.min(waitMs, this.#maxRetryAfterMs);
        await sleep(delay, this.#closing.signal);
      }
    }
    throw new TenantcastError(
      'TC_ERR_PUBLISH_FAILED',
      `Publishing failed after ${this.#maxAttempts} attempts; check that the relay at ${this.#endpoint} is up, or raise "maxAttempts".`,
      { cause: lastError, status: lastError instanceof TenantcastError ? lastError.status : undefined },
    );
  }
}
