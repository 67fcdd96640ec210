import { compileFilters, type EventPredicate, type Filter, generateWebhookSecret } from '@tenantcast/sdk';
import { type TenantKeys, tenantKeys, webhookTenantsKey } from '@tenantcast/server';
import type { Redis } from 'ioredis';

/** The consumer group the dispatcher reads tenant streams with. */
export const DISPATCH_GROUP = 'dispatch';

/** A tenant's HTTP endpoint, as stored. */
export interface WebhookEndpoint {
  id: string;
  tenantid: string;
  url: string;
  /** Standard Webhooks signing secret: `whsec_` + base64. */
  secret: string;
  filters: Filter[];
  description: string;
  createdAt: string;
  /** Set when the endpoint answered 410 Gone: nothing is delivered to it any more. */
  disabled: boolean;
  disabledReason?: string;
}

/** An endpoint with its filters compiled, for the dispatcher. */
export interface CompiledEndpoint extends WebhookEndpoint {
  matches: EventPredicate;
  /** Stream offsets before this were stored before the endpoint existed. */
  createdAtMs: number;
}

/** Endpoints in Redis: one hash per tenant (`tc:{t}:webhooks`), and the set of tenants that have any. */
export class WebhookStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #cache = new Map<string, { at: number; endpoints: CompiledEndpoint[] }>();

  constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  keys(tenant: string): TenantKeys {
    return tenantKeys(this.#prefix, tenant);
  }

  /**
   * Registers an endpoint. The tenant's stream gets the dispatcher's consumer group (created at the
   * stream's end if it has none), so that events from now on are dispatched.
   */
  async create(tenant: string, input: { url: string; filters?: Filter[]; description?: string }): Promise<WebhookEndpoint> {
    const endpoint: WebhookEndpoint = {
      id: `wh_${globalThis.crypto.randomUUID().replaceAll('-', '')}`,
      tenantid: tenant,
      url: input.url,
      secret: generateWebhookSecret(),
      filters: input.filters ?? [],
      description: input.description ?? '',
      createdAt: new Date().toISOString(),
      disabled: false,
    };
    const keys = this.keys(tenant);
    await this.#redis
      .multi()
      .hset(keys.webhooks, endpoint.id, JSON.stringify(endpoint))
      .sadd(webhookTenantsKey(this.#prefix), tenant)
      .exec();
    await this.ensureGroup(tenant);
    this.#cache.delete(tenant);
    return endpoint;
  }

  /** Creates the dispatcher's consumer group on the tenant's stream, at its end, unless it exists. */
  async ensureGroup(tenant: string): Promise<void> {
    try {
      await this.#redis.xgroup('CREATE', this.keys(tenant).stream, DISPATCH_GROUP, '$', 'MKSTREAM');
    } catch (error) {
      if (!/BUSYGROUP/.test((error as Error).message)) throw error;
    }
  }

  async list(tenant: string): Promise<WebhookEndpoint[]> {
    const values = await this.#redis.hvals(this.keys(tenant).webhooks);
    return values.map((v) => JSON.parse(v) as WebhookEndpoint).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async get(tenant: string, id: string): Promise<WebhookEndpoint | undefined> {
    const value = await this.#redis.hget(this.keys(tenant).webhooks, id);
    return value === null ? undefined : (JSON.parse(value) as WebhookEndpoint);
  }

  /** Deletes an endpoint; returns whether it existed. */
  async delete(tenant: string, id: string): Promise<boolean> {
    const removed = await this.#redis.hdel(this.keys(tenant).webhooks, id);
    if ((await this.#redis.hlen(this.keys(tenant).webhooks)) === 0) await this.#redis.srem(webhookTenantsKey(this.#prefix), tenant);
    this.#cache.delete(tenant);
    return removed > 0;
  }

  /** Marks an endpoint disabled (it answered 410 Gone). */
  async disable(tenant: string, id: string, reason: string): Promise<void> {
    const endpoint = await this.get(tenant, id);
    if (endpoint === undefined) return;
    await this.#redis.hset(this.keys(tenant).webhooks, id, JSON.stringify({ ...endpoint, disabled: true, disabledReason: reason }));
    this.#cache.delete(tenant);
  }

  /** The tenants that have endpoints. */
  tenants(): Promise<string[]> {
    return this.#redis.smembers(webhookTenantsKey(this.#prefix));
  }

  /** The tenant's enabled endpoints with compiled filters, cached for `maxAgeMs`. */
  async compiled(tenant: string, maxAgeMs = 1000): Promise<CompiledEndpoint[]> {
    const cached = this.#cache.get(tenant);
    if (cached !== undefined && Date.now() - cached.at < maxAgeMs) return cached.endpoints;
    const endpoints = (await this.list(tenant))
      .filter((e) => !e.disabled)
      .map((e) => ({ ...e, matches: compileFilters(e.filters), createdAtMs: Date.parse(e.createdAt) }));
    this.#cache.set(tenant, { at: Date.now(), endpoints });
    return endpoints;
  }
}
