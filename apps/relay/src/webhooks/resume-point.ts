import { compareOffsets, type RedisClient, type TenantKeys } from '@tenantcast/server';

/** The offset just before `offset`: replaying "after" it includes `offset` itself. */
export function offsetBefore(offset: string): string {
  const dash = offset.indexOf('-');
  if (dash < 0) return '0';
  const ms = BigInt(offset.slice(0, dash));
  const seq = BigInt(offset.slice(dash + 1));
  if (seq > 0n) return `${ms}-${seq - 1n}`;
  return ms > 0n ? `${ms - 1n}-18446744073709551615` : '0';
}

const min = (a: string, b: string) => (compareOffsets(a, b) <= 0 ? a : b);

/**
 * Where an endpoint being disabled stopped: an offset such that every event after it may not have
 * reached the endpoint, and every event at or before it has (or was never meant for it). Enabling
 * it again replays what follows, so that nothing stored while it was disabled, and nothing that was
 * on its way when it was disabled, is lost; an event may arrive twice, with its one webhook-id.
 *
 * An event is, at any moment, either not yet read by the dispatcher (after the group's
 * last-delivered-id), read but not acknowledged (pending in the group), or a delivery outstanding
 * (the tenant's `deliveries` set: the dispatcher counts it before it acknowledges the entry, and the
 * worker uncounts it when it finished), or finished. The group is read first, the deliveries after:
 * an entry that moves from pending to outstanding in between was pending when the group was read.
 *
 * For a 410 the delivery that got it is still outstanding, so the point falls before its event.
 */
export async function resumePoint(redis: RedisClient, keys: TenantKeys, group: string, endpointId: string): Promise<string> {
  let point = await dispatcherPosition(redis, keys.stream, group);
  const prefix = `${endpointId}_`;
  // Members are `<endpoint>_<offset>` and `<endpoint>_<offset>_r` (outstanding.ts); past their deadline they no longer count.
  for (const member of await redis.zrangebyscore(keys.deliveries, Date.now(), '+inf')) {
    if (!member.startsWith(prefix)) continue;
    const offset = member.slice(prefix.length).replace(/_r$/, '');
    point = min(point, offsetBefore(offset));
  }
  return point;
}

/** The offset up to which the dispatcher has acknowledged every entry: before its first pending one, else its last read. */
async function dispatcherPosition(redis: RedisClient, stream: string, group: string): Promise<string> {
  let groups: unknown[][];
  try {
    groups = (await redis.xinfo('GROUPS', stream)) as unknown[][];
  } catch {
    // No stream: nothing was stored, so nothing is to be resumed.
    return '0';
  }
  const fields = groups.map((flat) => Object.fromEntries(pairs(flat))).find((g) => g.name === group);
  if (fields === undefined) {
    // No group yet: the dispatcher makes it at the stream's end, and reads from there.
    const [last] = (await redis.xrevrange(stream, '+', '-', 'COUNT', 1)) as Array<[string, string[]]>;
    return last?.[0] ?? '0';
  }
  const read = String(fields['last-delivered-id'] ?? '0');
  if (Number(fields.pending ?? 0) === 0) return read;
  const [, first] = (await redis.xpending(stream, group)) as [number, string | null];
  return first === null ? read : min(read, offsetBefore(first));
}

function pairs(flat: unknown[]): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([String(flat[i]), flat[i + 1]]);
  return out;
}
