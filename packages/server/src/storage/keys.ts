/**
 * Where a tenant's data lives in Redis. Every key and channel of a tenant carries the hash tag
 * `{<tenantid>}`, so that on Redis Cluster they all map to one slot (Redis Cluster spec, "Hash tags").
 * Tenant ids are validated against ^[A-Za-z0-9._-]{1,128}$ before they get here, so they hold no braces.
 */
export interface TenantKeys {
  /** The tenant's event stream. */
  stream: string;
  /** Prefix of dedupe keys: prefix + hash of (source, id) → offset of the stored copy. */
  dedupePrefix: string;
  /** Prefix of the per-second rate-limit counters. */
  ratePrefix: string;
  /** The pub/sub channel the gateway listens on for new entries. */
  live: string;
  /** Hash of the tenant's web integrations → JSON array of their `validOrigins`. */
  origins: string;
  /** Hash of the tenant's webhook endpoints: id → JSON. */
  webhooks: string;
  /** Sorted set of the tenant's webhook deliveries not yet finished (member → deadline in ms). */
  deliveries: string;
  /** Prefix of the webhook delivery log: `<prefix><endpoint>:<offset>` one hash per delivery, `<prefix><endpoint>:<status>` its indexes. */
  deliveryLog: string;
}

/** The set of tenants that have webhook endpoints, which the dispatcher reads. Not tenant data. */
export function webhookTenantsKey(prefix: string): string {
  return `${prefix}webhook-tenants`;
}

/** The keys of one tenant under `prefix`. */
export function tenantKeys(prefix: string, tenant: string): TenantKeys {
  const base = `${prefix}{${tenant}}:`;
  return {
    stream: `${base}events`,
    dedupePrefix: `${base}dedupe:`,
    ratePrefix: `${base}rate:`,
    live: `${base}live`,
    origins: `${base}origins`,
    webhooks: `${base}webhooks`,
    deliveries: `${base}deliveries`,
    deliveryLog: `${base}dlog:`,
  };
}
