/**
 * Load process: publishes single events through the SDK's `RelayClient` (its batching, validation,
 * retries and fetch included), as a service using tenantcast would, open loop at a steady rate
 * (bench/lib/open-loop.ts). Each `publish` call is one event; the client batches what falls due
 * together per tenant as it does for any caller. Records due → handed to the SDK and due → the
 * promise resolved (the event stored).
 *
 * Arguments: the Redis URL and key prefix (the `--hops` probe), and optionally the SDK module to
 * load (the `--baseline` checkout's `packages/sdk/dist/index.js`), else this checkout's.
 */
import { now } from '../lib/clock.ts';
import { benchEvent } from '../lib/events.ts';
import { NotificationWatch } from '../lib/notification-watch.ts';
import { type OpenLoopParams, type OpenLoopResult, openLoop, Samples } from '../lib/open-loop.ts';
import { serve } from '../lib/rpc.ts';

export interface SdkPublishParams extends OpenLoopParams {
  url: string;
  token: string;
  /** `fetch`: the global fetch (RelayClient's default); `node`: `createNodeFetch()` of `@tenantcast/sdk/node`. */
  transport?: 'fetch' | 'node';
  hops?: boolean;
}

type Sdk = typeof import('@tenantcast/sdk');
const redisUrl = process.argv[2];
const keyPrefix = process.argv[3] ?? 'bench:';
const sdk = (process.argv[4] ? await import(process.argv[4]) : await import('@tenantcast/sdk')) as Sdk;
const clients = new Map<string, InstanceType<Sdk['RelayClient']>>();
let watch: NotificationWatch | undefined;

serve({
  async publish(params: SdkPublishParams): Promise<OpenLoopResult> {
    const key = `${params.transport ?? 'fetch'} ${params.url}`;
    let client = clients.get(key);
    if (client === undefined) {
      const fetch = params.transport === 'node' ? (await import('@tenantcast/sdk/node')).createNodeFetch() : undefined;
      client = new sdk.RelayClient({ url: params.url, token: params.token, ...(fetch ? { fetch } : {}) });
      clients.set(key, client);
    }
    if (params.hops && watch === undefined && redisUrl !== undefined) watch = await NotificationWatch.start(redisUrl, keyPrefix);
    const expected = Math.round((params.eventsPerSecond * params.durationMs) / 1000);
    const sendLag = new Samples(expected);
    const answer = new Samples(expected);
    const notified = params.hops ? new Samples(expected) : undefined;
    if (watch) watch.samples = notified;
    const statuses: Record<string, number> = {};
    let answered = 0;
    const publish = client;
    const { startAt, total } = await openLoop(params, (n, tenant, due) => {
      publish.publish(benchEvent(tenant, `${params.run}-${n}`, n, due) as unknown as import('@tenantcast/sdk').CloudEvent).then(
        () => {
          answer.add(now() - due);
          answered++;
          statuses[202] = (statuses[202] ?? 0) + 1;
        },
        (error: { code?: string; status?: number }) => {
          answered++;
          const key = String(error.status ?? error.code ?? 'error');
          statuses[key] = (statuses[key] ?? 0) + 1;
        },
      );
      sendLag.add(now() - due);
    });
    const until = Date.now() + 30_000;
    while (answered < total && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 5));
    if (watch) watch.samples = undefined;
    return {
      startAt,
      endAt: now(),
      events: total,
      answered,
      statuses,
      sendLag: sendLag.values(),
      answer: answer.values(),
      ...(notified ? { notified: notified.values() } : {}),
    };
  },
});
