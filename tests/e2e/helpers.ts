import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import type { TestRelay } from '@tenantcast/testkit';

/** A tenant id of the test's own, so that tests sharing a relay never see each other's events. */
export function uniqueTenant(name: string): string {
  return `${name}-${randomUUID().slice(0, 8)}`;
}

/** What a test publishes: the CloudEvents context is filled in. */
export interface Draft {
  type: string;
  data: unknown;
  subject?: string;
}

/** Publishes a batch through the relay's `POST /v1/events` and returns the stored offsets, in order. */
export async function publish(relay: TestRelay, tenant: string, drafts: Draft[]): Promise<string[]> {
  const token = await relay.token({ scope: 'publish', tenants: [tenant] });
  const events = drafts.map((draft) => ({
    specversion: '1.0',
    id: randomUUID(),
    source: 'e2e',
    tenantid: tenant,
    ...draft,
  }));
  const response = await fetch(`${relay.url}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/cloudevents-batch+json' },
    body: JSON.stringify(events),
  });
  assert.equal(response.status, 202, await response.clone().text());
  const body = (await response.json()) as { accepted: Array<{ offset: string; duplicate: boolean }> };
  assert.equal(body.accepted.length, drafts.length);
  assert.ok(body.accepted.every((a) => !a.duplicate));
  return body.accepted.map((a) => a.offset);
}

/**
 * A tenant of the test's own whose stream exists already: one `com.example.seed` event is stored.
 * A live-only subscription to a tenant with no stream yet can end with a false
 * TC_ERR_OFFSET_EXPIRED when the first event is written while it joins (the bug that
 * subscribe.test.ts reproduces); tests about other things sidestep it this way.
 */
export async function seededTenant(relay: TestRelay, name: string): Promise<string> {
  const tenant = uniqueTenant(name);
  await publish(relay, tenant, [{ type: 'com.example.seed', data: {} }]);
  return tenant;
}

/** `count` events of type `com.example.tick`, numbered from `from`. */
export function ticks(count: number, from = 0): Draft[] {
  return Array.from({ length: count }, (_, i) => ({ type: 'com.example.tick', data: { n: from + i } }));
}

/** Rejects when `promise` takes longer than `ms`, naming what was awaited. */
export function within<T>(promise: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Reads an async iterable without ending it (a `for await` that breaks would close the
 * subscription): `take(n)` resolves with the next `n` items.
 */
export function reader<T>(iterable: AsyncIterable<T>): { take(count: number, what?: string): Promise<T[]> } {
  const iterator = iterable[Symbol.asyncIterator]();
  return {
    async take(count, what = `${count} events`) {
      const items: T[] = [];
      await within(
        (async () => {
          while (items.length < count) {
            const result = await iterator.next();
            if (result.done) throw new Error(`the iteration ended after ${items.length} of ${what}`);
            items.push(result.value);
          }
        })(),
        what,
      );
      return items;
    },
  };
}

/** Reads the iteration to its end; resolves with what it threw, or undefined when it just ended. */
export async function ending(iterable: AsyncIterable<unknown>, what = 'the end of the iteration'): Promise<unknown> {
  return within(
    (async () => {
      try {
        for await (const _ of iterable) {
          // Drain.
        }
      } catch (error) {
        return error;
      }
      return undefined;
    })(),
    what,
  );
}

/**
 * A TCP proxy, e.g. in front of gateways as a load balancer: `target` (a port) applies to new
 * connections, and `pause()` stops reading from upstream, as a client that stopped reading would.
 */
export interface TcpProxy {
  readonly port: number;
  target: number;
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

/** Sees each chunk a client sends before it goes upstream; call `forward` to send it, now or later. */
export type ClientDataHook = (chunk: Buffer, forward: () => void, connection: object) => void;

export async function startProxy(target: number, onClientData?: ClientDataHook): Promise<TcpProxy> {
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  let paused = false;
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(proxy.target, '127.0.0.1');
    const pair = { client, upstream };
    pairs.add(pair);
    if (paused) upstream.pause();
    // No pipe(): its drain handling could resume a paused upstream.
    client.on('data', (chunk) => {
      if (onClientData === undefined) upstream.write(chunk);
      else onClientData(chunk, () => upstream.write(chunk), pair);
    });
    upstream.on('data', (chunk) => client.write(chunk));
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('close', end);
      socket.on('error', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  const proxy: TcpProxy = {
    port: address.port,
    target,
    pause() {
      paused = true;
      for (const { upstream } of pairs) upstream.pause();
    },
    resume() {
      paused = false;
      for (const { upstream } of pairs) upstream.resume();
    },
    async close() {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}

/** Reads one sample of a gateway's `/metrics`, e.g. `tenantcast_gateway_subscriptions{tenant="a"}`; 0 when absent. */
export async function metric(gatewayUrl: string, sample: string): Promise<number> {
  const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? 0 : Number(line.slice(sample.length + 1));
}

/** Runs every cleanup in order, even when one fails, then throws the first failure. */
export async function closeAll(...closers: Array<(() => Promise<unknown> | unknown) | undefined>): Promise<void> {
  let failure: unknown;
  for (const close of closers) {
    try {
      await close?.();
    } catch (error) {
      failure ??= error;
    }
  }
  if (failure !== undefined) throw failure;
}

const cleanups = new WeakMap<object, Array<() => unknown>>();

/**
 * Registers a cleanup for the end of test `t`. Cleanups run last in, first out (node:test runs
 * `t.after` hooks first in, first out), and every one runs even when another fails: a
 * subscription closes before its gateway, a gateway before its Redis.
 */
export function onEnd(t: { after(fn: () => Promise<void>): void }, close: () => unknown): void {
  let stack = cleanups.get(t);
  if (stack === undefined) {
    const created: Array<() => unknown> = [];
    stack = created;
    cleanups.set(t, created);
    t.after(() => closeAll(...created.reverse()));
  }
  stack.push(close);
}
