import { readFileSync } from 'node:fs';
import { compileFilters, type EventPredicate, type Filter, generateWebhookSecret } from '@tenantcast/sdk';
import { type RedisClient, ServiceError, type TenantKeys, tenantKeys, webhookTenantsKey } from '@tenantcast/server';

const addEndpointLua = readFileSync(new URL('./commands/add-endpoint-1.lua', import.meta.url), 'utf8');

type AddEndpoint = (hash: string, max: number, id: string, json: string) => Promise<number>;

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
  readonly #redis: RedisClient & { tcAddEndpoint?: AddEndpoint };
  readonly #prefix: string;
  /** Per tenant: compiled endpoints by their stored JSON. */
  readonly #compiled = new Map<string, Map<string, CompiledEndpoint>>();

  constructor(redis: RedisClient, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
    if (!('tcAddEndpoint' in redis)) redis.defineCommand('tcAddEndpoint', { numberOfKeys: 1, lua: addEndpointLua });
  }

  keys(tenant: string): TenantKeys {
    return tenantKeys(this.#prefix, tenant);
  }

  /**
   * Registers an endpoint. The tenant's stream gets the dispatcher's consumer group (created at the
   * stream's end if it has none), so that events from now on are dispatched. Throws
   * TC_ERR_TOO_MANY_ENDPOINTS, with nothing written, when the tenant has `maxPerTenant` already
   * (WEBHOOK_MAX_ENDPOINTS_PER_TENANT): the count and the add are one script, so concurrent
   * creates cannot pass the cap together.
   */
  async create(
    tenant: string,
    input: { url: string; filters?: Filter[]; description?: string },
    maxPerTenant = Number.MAX_SAFE_INTEGER,
  ): Promise<WebhookEndpoint> {
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
    // The endpoint first, then the set: see #untrackIfEmpty for why this order loses no tenant.
    if ((await this.#redis.tcAddEndpoint!(this.keys(tenant).webhooks, maxPerTenant, endpoint.id, JSON.stringify(endpoint))) !== 1) {
      throw new ServiceError(
        'TC_ERR_TOO_MANY_ENDPOINTS',
        `Tenant "${tenant}" has ${maxPerTenant} webhook endpoints, the most it may have (WEBHOOK_MAX_ENDPOINTS_PER_TENANT); delete one first.`,
      );
    }
    await this.#redis.sadd(webhookTenantsKey(this.#prefix), tenant);
    await this.ensureGroup(tenant);
    return endpoint;
  }

  /** Creates the dispatcher's consumer group on the tenant's stream, at its end (or `from`), unless it exists. */
  async ensureGroup(tenant: string, from: '$' | '0' = '$'): Promise<void> {
    try {
      await this.#redis.xgroup('CREATE', this.keys(tenant).stream, DISPATCH_GROUP, from, 'MKSTREAM');
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
    await this.#untrackIfEmpty(tenant);
    return removed > 0;
  }

  /**
   * Takes a tenant without endpoints out of the dispatcher's set. The set and the tenant's hash
   * live in different slots on a cluster, so this cannot be one atomic step; instead it removes,
   * then looks again and puts the tenant back if an endpoint appeared. A concurrent create writes
   * its endpoint before adding the tenant, so either its add comes after the removal, or the second
   * look sees its endpoint: no interleaving leaves a tenant with endpoints out of the set.
   */
  async #untrackIfEmpty(tenant: string): Promise<void> {
    const hash = this.keys(tenant).webhooks;
    if ((await this.#redis.hlen(hash)) > 0) return;
    const set = webhookTenantsKey(this.#prefix);
    await this.#redis.srem(set, tenant);
    if ((await this.#redis.hlen(hash)) > 0) await this.#redis.sadd(set, tenant);
  }

  /** Marks an endpoint disabled (it answered 410 Gone). */
  async disable(tenant: string, id: string, reason: string): Promise<void> {
    const endpoint = await this.get(tenant, id);
    if (endpoint === undefined) return;
    await this.#redis.hset(this.keys(tenant).webhooks, id, JSON.stringify({ ...endpoint, disabled: true, disabledReason: reason }));
  }

  /** The tenants that have endpoints. */
  tenants(): Promise<string[]> {
    return this.#redis.smembers(webhookTenantsKey(this.#prefix));
  }

  /**
   * The tenant's enabled endpoints with compiled filters, read from Redis on every call (once per
   * dispatched batch), so that an endpoint registered through any relay gets the events stored
   * after it. Compiled filters are reused while an endpoint's stored JSON is unchanged.
   */
  async compiled(tenant: string): Promise<CompiledEndpoint[]> {
    const values = await this.#redis.hvals(this.keys(tenant).webhooks);
    const endpoints: CompiledEndpoint[] = [];
    const previous = this.#compiled.get(tenant);
    const current = new Map<string, CompiledEndpoint>();
    for (const value of values) {
      let endpoint = previous?.get(value);
      if (endpoint === undefined) {
        const stored = JSON.parse(value) as WebhookEndpoint;
        endpoint = { ...stored, matches: compileFilters(stored.filters), createdAtMs: Date.parse(stored.createdAt) };
      }
      current.set(value, endpoint);
      if (!endpoint.disabled) endpoints.push(endpoint);
    }
    // Only what is current is kept, so that the map does not grow with edits.
    if (current.size > 0) this.#compiled.set(tenant, current);
    else this.#compiled.delete(tenant);
    return endpoints;
  }
}
