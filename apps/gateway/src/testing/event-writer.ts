import assert from 'node:assert/strict';
import { closeRedis, connectRedis, createRedis, isCluster, type RedisClient, redisTarget, StreamAppender } from '@tenantcast/server';
import { type Accepted, makeEvent, type RedisConnection, toConnection, uniqueKeyPrefix, uniqueTenant } from '@tenantcast/testkit';

/**
 * Stores events as the relay does, without a relay: through the StreamAppender (the same script:
 * dedupe, XADD with trimming, the live notification), each event as its structured JSON text. What
 * the gateway delivers is what the relay would have stored.
 */
export interface EventWriter {
  /** The key prefix of the streams it writes: give it to the gateways that read them. */
  readonly keyPrefix: string;
  /** Its Redis connection, for a test that looks at Redis itself. */
  readonly redis: RedisClient;
  /** Stores one tenant's events in one append, in order; resolves with what the relay would have answered. */
  publish(events: readonly Record<string, unknown>[]): Promise<Accepted[]>;
  /** Stores one event. */
  publishOne(event: Record<string, unknown>): Promise<Accepted>;
  /**
   * A tenant id of the test's own (see testkit's `uniqueTenant`) whose stream holds one event, id
   * `history`, already: a live subscription to a tenant with no stream yet once looked expired,
   * and tests about other things sidestep that case.
   */
  tenantWithHistory(label: string): Promise<{ tenant: string; history: Accepted }>;
  close(): Promise<void>;
}

export interface EventWriterOptions {
  /** Default a unique one. */
  keyPrefix?: string;
  /** Entries a stream keeps (XADD MAXLEN ~), the relay's STREAM_MAX_LEN. Default 100,000, the relay's default. */
  streamMaxLen?: number;
}

// The relay's defaults for what its appender does besides storing (apps/relay/src/config.ts).
const STREAM_MAX_AGE_SECONDS = 7 * 24 * 3600;
const DEDUPE_WINDOW_SECONDS = 24 * 3600;
const RATE_LIMIT_PER_SECOND = 1_000_000;

/** Connects an EventWriter to `redis` (a URL, or a TestRedis). */
export async function startEventWriter(redis: string | RedisConnection, options: EventWriterOptions = {}): Promise<EventWriter> {
  const target = redisTarget(toConnection(redis));
  const client = createRedis(target, { warn() {}, info() {} });
  await connectRedis(client, 3000);
  const keyPrefix = options.keyPrefix ?? uniqueKeyPrefix();
  const appender = new StreamAppender(client, {
    keyPrefix,
    streamMaxLen: options.streamMaxLen ?? 100_000,
    streamMaxAgeSeconds: STREAM_MAX_AGE_SECONDS,
    dedupeWindowSeconds: DEDUPE_WINDOW_SECONDS,
    rateLimitFor: () => RATE_LIMIT_PER_SECOND,
    pubsub: isCluster(target) ? 'sharded' : 'classic',
  });

  async function publish(events: readonly Record<string, unknown>[]): Promise<Accepted[]> {
    const tenant = String(events[0]?.tenantid);
    for (const event of events)
      assert.equal(event.tenantid, tenant, 'the events of one publish are of one tenant, as the relay takes them');
    // As the relay's ingest stores them (apps/relay/src/ingest/ingest-events.ts): the JSON text, serialized once.
    const stored = events.map((event) => ({ source: String(event.source), id: String(event.id), json: JSON.stringify(event) }));
    const results = await appender.append(tenant, stored);
    return stored.map(({ id, source }, i) => ({ id, source, ...results[i]! }));
  }

  return {
    keyPrefix,
    redis: client,
    publish,
    publishOne: async (event) => (await publish([event]))[0]!,
    async tenantWithHistory(label) {
      const tenant = uniqueTenant(label);
      const [history] = await publish([makeEvent(tenant, { id: 'history' })]);
      return { tenant, history: history! };
    },
    close: () => closeRedis(client),
  };
}
