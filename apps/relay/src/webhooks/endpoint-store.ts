import { readFileSync } from 'node:fs';
import { compileFilters, type EventPredicate, type Filter, generateWebhookSecret } from '@tenantcast/sdk';
import { type RedisClient, ServiceError, type TenantKeys, tenantKeys, webhookTenantsKey } from '@tenantcast/server';
import { resumePoint } from './resume-point.ts';

const addEndpointLua = readFileSync(new URL('./commands/add-endpoint-1.lua', import.meta.url), 'utf8');
const replaceEndpointLua = readFileSync(new URL('./commands/replace-endpoint-1.lua', import.meta.url), 'utf8');

type AddEndpoint = (hash: string, max: number, id: string, json: string) => Promise<number>;
type ReplaceEndpoint = (hash: string, id: string, read: string, json: string) => Promise<number>;

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
  /** Its position in the stream: it gets the events stored after this time. Kept by every update. */
  createdAt: string;
  /** Nothing is delivered to a disabled endpoint; enabling it again delivers what it missed. */
  disabled: boolean;
  /** Why it is disabled (null while enabled): `gone` (it answered 410), `failing` (auto-disable), `manual` (the API). */
  disabledReason: DisabledReason | null;
  /** The same, for people: which answer, since when. */
  disabledDetail: string | null;
  /** While disabled: events after this offset may not have reached it, and are replayed when it is enabled (resume-point.ts). */
  stoppedAt: string | null;
  /** When the first of an unbroken run of failed attempts was made; null after a success. */
  failingSince: string | null;
  /** The secret before the last rotation, which deliveries are also signed with until `previousSecretExpiresAt`. Never shown. */
  previousSecret: string | null;
  previousSecretExpiresAt: string | null;
}

export type DisabledReason = 'gone' | 'failing' | 'manual';

const REASONS: ReadonlySet<unknown> = new Set<DisabledReason>(['gone', 'failing', 'manual']);

/** An endpoint as stored, with the fields older relays did not write filled in. */
function parse(json: string): WebhookEndpoint {
  const stored = JSON.parse(json) as Partial<WebhookEndpoint> & Pick<WebhookEndpoint, 'id' | 'tenantid' | 'url' | 'secret' | 'createdAt'>;
  const reason = stored.disabledReason as unknown;
  // Older relays disabled only on a 410, with a sentence as the reason.
  const legacy = stored.disabled === true && !REASONS.has(reason) && typeof reason === 'string';
  return {
    ...stored,
    filters: stored.filters ?? [],
    description: stored.description ?? '',
    disabled: stored.disabled === true,
    disabledReason: stored.disabled === true ? (REASONS.has(reason) ? (reason as DisabledReason) : 'gone') : null,
    disabledDetail: stored.disabledDetail ?? (legacy ? (reason as string) : null),
    stoppedAt: stored.stoppedAt ?? null,
    failingSince: stored.failingSince ?? null,
    previousSecret: stored.previousSecret ?? null,
    previousSecretExpiresAt: stored.previousSecretExpiresAt ?? null,
  };
}

/** The secrets a delivery made at `now` is signed with: the current one, and the previous one during its grace. */
export function signingSecrets(endpoint: WebhookEndpoint, now: number): string[] {
  const { previousSecret, previousSecretExpiresAt } = endpoint;
  const inGrace = previousSecret !== null && previousSecretExpiresAt !== null && Date.parse(previousSecretExpiresAt) > now;
  return inGrace ? [endpoint.secret, previousSecret] : [endpoint.secret];
}

/** Before and after an update; the same object twice when nothing changed. */
export interface EndpointChange {
  before: WebhookEndpoint;
  after: WebhookEndpoint;
}

/** Compare-and-set rounds an update tries before giving up (each lost round is another writer's success). */
const UPDATE_ROUNDS = 50;

/** An endpoint with its filters compiled, for the dispatcher. */
export interface CompiledEndpoint extends WebhookEndpoint {
  matches: EventPredicate;
  /** Stream offsets before this were stored before the endpoint existed. */
  createdAtMs: number;
}

/** Endpoints in Redis: one hash per tenant (`tc:{t}:webhooks`), and the set of tenants that have any. */
export class WebhookStore {
  readonly #redis: RedisClient & { tcAddEndpoint?: AddEndpoint; tcReplaceEndpoint?: ReplaceEndpoint };
  readonly #prefix: string;
  /** Per tenant: compiled endpoints by their stored JSON. */
  readonly #compiled = new Map<string, Map<string, CompiledEndpoint>>();

  constructor(redis: RedisClient, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
    if (!('tcAddEndpoint' in redis)) redis.defineCommand('tcAddEndpoint', { numberOfKeys: 1, lua: addEndpointLua });
    if (!('tcReplaceEndpoint' in redis)) redis.defineCommand('tcReplaceEndpoint', { numberOfKeys: 1, lua: replaceEndpointLua });
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
      disabledReason: null,
      disabledDetail: null,
      stoppedAt: null,
      failingSince: null,
      previousSecret: null,
      previousSecretExpiresAt: null,
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
    return values.map(parse).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async get(tenant: string, id: string): Promise<WebhookEndpoint | undefined> {
    const value = await this.#redis.hget(this.keys(tenant).webhooks, id);
    return value === null ? undefined : parse(value);
  }

  /**
   * Changes an endpoint atomically: reads it, applies `change` (the new endpoint, or undefined for
   * no change, which writes nothing), and stores the result only if the stored JSON is still what
   * was read (replace-endpoint-1.lua), reading again otherwise, so that concurrent updates (PATCHes,
   * a rotation, the worker's failure clock) never lose each other's fields. Undefined when the
   * endpoint does not exist.
   */
  async update(
    tenant: string,
    id: string,
    change: (current: WebhookEndpoint) => WebhookEndpoint | undefined,
  ): Promise<EndpointChange | undefined> {
    const hash = this.keys(tenant).webhooks;
    for (let round = 0; round < UPDATE_ROUNDS; round++) {
      const read = await this.#redis.hget(hash, id);
      if (read === null) return undefined;
      const before = parse(read);
      const after = change(before);
      if (after === undefined) return { before, after: before };
      const replaced = await this.#redis.tcReplaceEndpoint!(hash, id, read, JSON.stringify(after));
      if (replaced === 1) return { before, after };
      if (replaced === -1) return undefined;
    }
    throw new Error(`Endpoint ${id} of tenant "${tenant}" kept changing during ${UPDATE_ROUNDS} attempts to update it.`);
  }

  /** Gives an endpoint a new secret; the old one keeps signing deliveries (next to the new one) for `graceSeconds`. */
  rotateSecret(tenant: string, id: string, graceSeconds: number, now = Date.now()): Promise<EndpointChange | undefined> {
    return this.update(tenant, id, (e) => ({
      ...e,
      secret: generateWebhookSecret(),
      previousSecret: graceSeconds > 0 ? e.secret : null,
      previousSecretExpiresAt: new Date(now + graceSeconds * 1000).toISOString(),
    }));
  }

  /** Where the endpoint stopped if it were disabled now: what enabling it again replays after (resume-point.ts). */
  resumePoint(tenant: string, id: string): Promise<string> {
    return resumePoint(this.#redis, this.keys(tenant), DISPATCH_GROUP, id);
  }

  /**
   * Disables an endpoint (a 410, auto-disable) unless it is disabled already or `still` says the
   * reason no longer holds. Answers the endpoint when this call disabled it, so that one caller,
   * not every job that saw the same answer, tells the tenant.
   */
  async disable(
    tenant: string,
    id: string,
    reason: DisabledReason,
    detail: string,
    still: (current: WebhookEndpoint) => boolean = () => true,
  ): Promise<WebhookEndpoint | undefined> {
    const stoppedAt = await this.resumePoint(tenant, id);
    const done = await this.update(tenant, id, (e) =>
      e.disabled || !still(e) ? undefined : { ...e, disabled: true, disabledReason: reason, disabledDetail: detail, stoppedAt },
    );
    return done !== undefined && done.before !== done.after ? done.after : undefined;
  }

  /**
   * The failure clock of auto-disable, after each attempt that reached the endpoint or failed to:
   * a failure after a success starts it (`failingSince`), a success stops it, and a failure
   * `windowMs` or more after it started disables the endpoint (reason `failing`), answering it.
   * `seen` is the endpoint as the attempt read it: when it shows nothing to change (a success with
   * no clock running, a failure within the window) this touches no Redis at all.
   */
  async recordOutcome(
    tenant: string,
    seen: WebhookEndpoint,
    ok: boolean,
    windowMs: number,
    now = Date.now(),
  ): Promise<WebhookEndpoint | undefined> {
    const past = (e: WebhookEndpoint) => e.failingSince !== null && now - Date.parse(e.failingSince) >= windowMs;
    if (ok) {
      if (seen.failingSince !== null)
        await this.update(tenant, seen.id, (e) => (e.failingSince === null ? undefined : { ...e, failingSince: null }));
      return undefined;
    }
    if (seen.failingSince === null) {
      const since = new Date(now).toISOString();
      await this.update(tenant, seen.id, (e) => (e.failingSince !== null || e.disabled ? undefined : { ...e, failingSince: since }));
      return undefined;
    }
    if (!past(seen)) return undefined;
    return this.disable(tenant, seen.id, 'failing', `every attempt failed since ${seen.failingSince}`, past);
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
        const stored = parse(value);
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
