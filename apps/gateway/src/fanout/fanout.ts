import type { RedisClient, StreamReader } from '@tenantcast/server';
import type { Subscriber } from './subscriber.ts';
import { TenantHub } from './tenant-hub.ts';

export interface FanoutDeps {
  store: StreamReader;
  /** A connection in subscriber mode, used for nothing else. */
  subscriber: RedisClient;
  /** `classic` SUBSCRIBE on one Redis; `sharded` SSUBSCRIBE on a Redis Cluster (the channel lives in the tenant's slot). */
  pubsub: 'classic' | 'sharded';
  pageSize: number;
  onFanout(ms: number): void;
  onSent(messages: number): void;
  onError(error: unknown): void;
}

/** How long after a reconnect signal the hubs read their streams again. */
const RESYNC_DELAY_MS = 100;

/**
 * The gateway's tenants: one hub and one Redis channel subscription per tenant with subscribers,
 * however many they are. Hubs are made on the first subscriber and dropped after the last.
 */
export class Fanout {
  readonly #deps: FanoutDeps;
  readonly #hubs = new Map<string, { hub: TenantHub; ready: Promise<void> }>();
  readonly #byChannel = new Map<string, TenantHub>();

  constructor(deps: FanoutDeps) {
    this.#deps = deps;
    const onMessage = (channel: string, message: string) => this.#byChannel.get(channel)?.notify(message);
    deps.subscriber.on(deps.pubsub === 'sharded' ? 'smessage' : 'message', onMessage);
    // After a reconnect ioredis subscribes again by itself; what was published meanwhile is read from the streams.
    let connectedOnce = false;
    deps.subscriber.on('ready', () => {
      if (connectedOnce) this.#resyncAll();
      connectedOnce = true;
    });
    if (deps.pubsub === 'sharded') {
      // A failover or slot move replaces the shard's subscriber, which subscribes again to the
      // channels of its slots; notifications sent in between are read from the streams.
      deps.subscriber.on('subscribersReady', () => this.#resyncAll());
    }
  }

  #resyncTimer: NodeJS.Timeout | undefined;

  /**
   * Reads every hub's stream past what it handed out: after a reconnect, notifications may be
   * missing. A failover signals many times over while the cluster settles: every signal is followed
   * by one resync within RESYNC_DELAY_MS, which serves all the signals before it.
   */
  #resyncAll(): void {
    if (this.#resyncTimer !== undefined) return;
    this.#resyncTimer = setTimeout(() => {
      this.#resyncTimer = undefined;
      for (const { hub } of this.#hubs.values()) void hub.resync().catch(() => {});
    }, RESYNC_DELAY_MS);
    this.#resyncTimer.unref();
  }

  /** Tenants with a hub, and their subscriber counts. */
  tenants(): Map<string, number> {
    return new Map([...this.#hubs].map(([tenant, { hub }]) => [tenant, hub.size]));
  }

  /** Subscribes to a tenant: catches up from `subscriber.last`, then live. Rejects when Redis fails or the offset expired. */
  async subscribe(tenant: string, subscriber: Subscriber): Promise<void> {
    const { hub, ready } = this.#hub(tenant);
    const arrived = hub.reserve();
    try {
      await ready;
      await hub.join(subscriber, arrived);
    } catch (error) {
      arrived();
      this.unsubscribe(tenant, subscriber);
      throw error;
    } finally {
      arrived();
      // The subscriber may have left during its catch-up, while the reservation kept the hub: drop it if it is empty now.
      if (hub.size === 0) this.#drop(tenant, hub);
    }
  }

  /** Ends a subscription; the tenant's hub goes when its last subscriber does. */
  unsubscribe(tenant: string, subscriber: Subscriber): void {
    const record = this.#hubs.get(tenant);
    if (record === undefined) return;
    record.hub.leave(subscriber);
    if (record.hub.size === 0) this.#drop(tenant, record.hub);
  }

  /** Drops every hub and its channel subscription. */
  async close(): Promise<void> {
    clearTimeout(this.#resyncTimer);
    for (const [tenant, { hub }] of this.#hubs) this.#drop(tenant, hub);
  }

  #hub(tenant: string): { hub: TenantHub; ready: Promise<void> } {
    let record = this.#hubs.get(tenant);
    if (record !== undefined) return record;
    const hub = new TenantHub(tenant, {
      store: this.#deps.store,
      pageSize: this.#deps.pageSize,
      onFanout: this.#deps.onFanout,
      onSent: this.#deps.onSent,
      onError: this.#deps.onError,
    });
    const channel = this.#deps.store.keys(tenant).live;
    this.#byChannel.set(channel, hub);
    // Subscribe first, then read the stream's last offset: whatever is stored after that point is
    // either in a notification the hub receives, or found by its gap check.
    const ready = this.#listen(channel).then(() => hub.start());
    record = { hub, ready };
    this.#hubs.set(tenant, record);
    ready.catch(() => {
      if (this.#hubs.get(tenant)?.hub === hub && hub.size === 0) this.#drop(tenant, hub);
    });
    return record;
  }

  #drop(tenant: string, hub: TenantHub): void {
    if (this.#hubs.get(tenant)?.hub !== hub) return;
    this.#hubs.delete(tenant);
    const channel = this.#deps.store.keys(tenant).live;
    this.#byChannel.delete(channel);
    hub.dispose();
    if (this.#deps.subscriber.status !== 'ready') return;
    const subscriber = this.#deps.subscriber;
    void (this.#deps.pubsub === 'sharded' ? subscriber.sunsubscribe(channel) : subscriber.unsubscribe(channel)).catch(() => {});
  }

  #listen(channel: string): Promise<unknown> {
    const subscriber = this.#deps.subscriber;
    return this.#deps.pubsub === 'sharded' ? subscriber.ssubscribe(channel) : subscriber.subscribe(channel);
  }
}
