import { compareOffsets, ServiceError, type StreamReader } from '@tenantcast/server';
import type { WebhookEndpoint } from './endpoint-store.ts';
import { type ReplayDeps, replay } from './replay.ts';

/** What enabling an endpoint again queued of what it missed (the PATCH answer's `resumed`). */
export interface CatchUp {
  /** The offset it resumed after: where it stopped, `0` when retention trimmed events since, null when unknown (disabled by an older relay). */
  from: string | null;
  /** Deliveries queued. */
  enqueued: number;
  /** Events whose replay to the endpoint was queued already. */
  merged: number;
  /** False when the tenant's cap (WEBHOOK_MAX_OUTSTANDING_PER_TENANT) stopped it: replay after `last` once deliveries drained. */
  complete: boolean;
  /** The last offset gone through. */
  last: string | null;
}

/**
 * Queues, through replay() with its caps, the events stored after `stoppedAt` and up to now that
 * match the endpoint: what it missed while disabled. Calls replay again from its `last` while it
 * stops at its cap per call, until it is through or the tenant's cap answers 429; then it answers
 * `complete: false`, and newer events still reach the endpoint through the dispatcher. Events
 * trimmed by retention since it stopped cannot be delivered: it resumes from the oldest one kept.
 */
export async function catchUp(
  deps: ReplayDeps & { reader: StreamReader },
  tenant: string,
  endpoint: WebhookEndpoint,
  stoppedAt: string | null,
): Promise<CatchUp> {
  const answer: CatchUp = { from: stoppedAt, enqueued: 0, merged: 0, complete: true, last: stoppedAt };
  if (stoppedAt === null) return answer;
  const until = await deps.reader.lastOffset(tenant);
  if (compareOffsets(stoppedAt, until) >= 0) return answer;
  const target = { id: endpoint.id, filters: endpoint.filters };
  let after = stoppedAt;
  while (true) {
    let part: Awaited<ReturnType<typeof replay>>;
    try {
      part = await replay(deps, tenant, target, { after, until });
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      if (error.code === 'TC_ERR_TOO_MANY_DELIVERIES') return { ...answer, complete: false };
      if (error.code === 'TC_ERR_OFFSET_EXPIRED' && after !== '0') {
        after = '0';
        answer.from = '0';
        continue;
      }
      throw error;
    }
    answer.enqueued += part.enqueued;
    answer.merged += part.merged;
    if (part.last !== null) answer.last = after = part.last;
    if (part.complete) return answer;
    if (part.last === null) return { ...answer, complete: false };
  }
}
