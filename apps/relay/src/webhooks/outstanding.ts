import type { RedisClient } from '@tenantcast/server';
import { tenantKeys } from '@tenantcast/server';

/**
 * A tenant's webhook deliveries that are not finished (waiting, running or waiting for a retry),
 * one sorted-set member each, in the tenant's own slot: what caps a tenant's jobs outstanding, and
 * what merges a replay into one already running.
 *
 * Members are `<endpoint>_<offset>` for a first delivery and `<endpoint>_<offset>_r` for a replay
 * (whichever replay it is: two replays of one event to one endpoint are one delivery). Adding is
 * NX, so a dispatch repeated after a crash counts nothing twice, and a replay learns which events
 * are queued for replay already. The worker removes a member when its job finishes for good.
 *
 * The score is a deadline past which the member no longer counts: a worker that died between a
 * job's end and the removal, or a job removed by hand on the dashboard, would otherwise count for
 * ever. The deadline is past the job's last possible retry, so a live job is never dropped early.
 */
export class OutstandingDeliveries {
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly #lifetimeMs: number;

  /** `lifetimeMs`: how long a job can take, first attempt to last retry, with margin. */
  constructor(redis: RedisClient, prefix: string, lifetimeMs: number) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#lifetimeMs = lifetimeMs;
  }

  /** The member of a delivery: the same for every replay of one event to one endpoint. */
  static member(endpointId: string, offset: string, replay: boolean): string {
    return replay ? `${endpointId}_${offset}_r` : `${endpointId}_${offset}`;
  }

  /** The tenant's deliveries outstanding, stale members dropped first. */
  async count(tenant: string): Promise<number> {
    const key = tenantKeys(this.#prefix, tenant).deliveries;
    const [, [error, count]] = (await this.#redis.multi().zremrangebyscore(key, '-inf', Date.now()).zcard(key).exec()) as [
      unknown,
      [Error | null, number],
    ];
    if (error !== null) throw error;
    return count;
  }

  /** The counts of several tenants, in one round trip on one Redis (a pipeline per slot on a cluster). */
  async counts(tenants: readonly string[]): Promise<number[]> {
    if (tenants.length === 0) return [];
    // A cluster's pipeline must stay in one slot, and each tenant has its own.
    if (this.#redis.isCluster) return Promise.all(tenants.map((tenant) => this.count(tenant)));
    const pipeline = this.#redis.pipeline();
    const now = Date.now();
    for (const tenant of tenants) {
      const key = tenantKeys(this.#prefix, tenant).deliveries;
      pipeline.zremrangebyscore(key, '-inf', now).zcard(key);
    }
    const replies = (await pipeline.exec()) ?? [];
    return tenants.map((_, i) => {
      const [error, count] = replies[i * 2 + 1] ?? [new Error('no reply'), 0];
      if (error) throw error;
      return count as number;
    });
  }

  /** Adds members that are not there yet; answers, for each, whether it was added. */
  async add(tenant: string, members: readonly string[]): Promise<boolean[]> {
    if (members.length === 0) return [];
    const key = tenantKeys(this.#prefix, tenant).deliveries;
    const deadline = Date.now() + this.#lifetimeMs;
    const pipeline = this.#redis.pipeline();
    for (const member of members) pipeline.zadd(key, 'NX', deadline, member);
    const replies = (await pipeline.exec()) ?? [];
    return members.map((_, i) => {
      const [error, added] = replies[i] ?? [new Error('no reply'), 0];
      if (error) throw error;
      return added === 1;
    });
  }

  /** Removes members: their jobs finished, or were never added. */
  async remove(tenant: string, members: readonly string[]): Promise<void> {
    if (members.length === 0) return;
    await this.#redis.zrem(tenantKeys(this.#prefix, tenant).deliveries, ...members);
  }
}
