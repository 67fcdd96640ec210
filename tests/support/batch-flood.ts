import { fork } from 'node:child_process';
import { Agent, request } from 'node:http';
import { sleep, TSX_NODE_ARGS } from '@tenantcast/testkit';

/**
 * What a flood sends: `concurrency` loops, each POSTing batches back to back, as large as allowed:
 * `maxEvents` events (fewer if they do not fit), padded with data so that their JSON fills `maxBytes`.
 */
export interface FloodPlan {
  url: string;
  token: string;
  tenant: string;
  maxEvents: number;
  maxBytes: number;
  concurrency: number;
  /** Send again at once after a 429. Default false: wait for its Retry-After. */
  ignoreRetryAfter?: boolean;
  /** Start batches at most this many events a second, over all loops (a tenant pacing itself to its limit); default back to back. */
  eventsPerSecond?: number;
}

/** What a flood got back: answers by HTTP status, and the events the relay accepted. */
export interface FloodReport {
  statuses: Record<string, number>;
  acceptedEvents: number;
  bytesSent: number;
}

/** A flood running in a process of its own; it starts paused. */
export interface Flood {
  /** Events per batch, and the bytes of each event's JSON. */
  readonly batch: { events: number; eventBytes: number };
  /** Starts sending, or again after `pause`. */
  resume(): void;
  /** Sends no more batches (those in flight finish); resolves once none is in flight. */
  pause(): Promise<void>;
  /** Stops sending and resolves with what the relay answered. */
  stop(): Promise<FloodReport>;
}

/**
 * Starts a batch flood in a process of its own, so that building and sending its bodies costs the
 * measuring process nothing: the measured tenant's latencies are the relay's and Redis's, not the
 * load generator's. A loop answered 429 waits for its `Retry-After`, as the SDK does, unless
 * `ignoreRetryAfter`: then it sends again at once, as a hostile client would.
 */
export function startFlood(plan: FloodPlan): Promise<Flood> {
  const child = fork(import.meta.filename, ['--flood'], { execArgv: [...TSX_NODE_ARGS], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the flood exited with ${code} before it started`)));
    child.once('message', (batch) => {
      child.removeAllListeners('exit');
      resolve({
        batch: batch as Flood['batch'],
        resume: () => child.send('resume'),
        pause: () =>
          new Promise<void>((done) => {
            child.once('message', () => done());
            child.send('pause');
          }),
        stop: () =>
          new Promise<FloodReport>((done, fail) => {
            child.once('message', (report) => {
              child.kill();
              done(report as FloodReport);
            });
            child.once('exit', (code) => fail(new Error(`the flood exited with ${code} before it reported`)));
            child.send('stop');
          }),
      });
    });
    child.send(plan);
  });
}

/** Digits of the batch serial in each event id. */
const SERIAL_DIGITS = 12;

/**
 * Batch bodies with ids of their own (the relay dedupes by (source, id), so a repeated body would
 * store nothing), built once and then patched in place: each event's id starts with the batch's
 * serial, so a new batch is 12 bytes rewritten per event instead of a megabyte built, and the flood
 * costs the two cores it shares with the relay and Redis as little as a remote client would.
 */
class BatchBodies {
  readonly #body: Buffer;
  readonly #serialAt: number[] = [];
  #serial = 0;
  /** Events per batch, and the bytes of one event's JSON. */
  readonly shape: Flood['batch'];

  constructor(plan: FloodPlan) {
    const event = (i: number, data: string) =>
      `{"specversion":"1.0","id":"${'0'.repeat(SERIAL_DIGITS)}-${i}","source":"/f-${process.pid}","type":"f","tenantid":"${plan.tenant}"${data}}`;
    // The relay stores each event as JSON.stringify of what it parsed: the same text as sent here.
    const minimal = Buffer.byteLength(event(plan.maxEvents, ''));
    const count = Math.max(1, Math.min(plan.maxEvents, Math.floor(plan.maxBytes / minimal)));
    const padding = Math.floor(plan.maxBytes / count) - minimal - Buffer.byteLength(',"data":""');
    const data = padding > 0 ? `,"data":"${'x'.repeat(padding)}"` : '';
    const parts: string[] = [];
    let at = 1;
    for (let i = 0; i < count; i++) {
      const text = event(i, data);
      this.#serialAt.push(at + text.indexOf('"id":"') + 6);
      parts.push(text);
      at += Buffer.byteLength(text) + 1;
    }
    this.#body = Buffer.from(`[${parts.join(',')}]`);
    this.shape = { events: count, eventBytes: Buffer.byteLength(event(0, data)) };
  }

  /** The next batch's body; valid until the next call, and sent before it. */
  next(): Buffer {
    const serial = String(++this.#serial).padStart(SERIAL_DIGITS, '0');
    for (const at of this.#serialAt) this.#body.write(serial, at, 'latin1');
    return this.#body;
  }
}

/** What the parent process tells the flood. */
interface Control {
  paused: boolean;
  stopped: boolean;
  /** Batches in flight, and what to call when they reach 0 while paused. */
  inFlight: number;
  onIdle?: () => void;
}

/** The flood process: loops, paused or not, until told to stop, then reports. */
async function runFlood(plan: FloodPlan, bodies: BatchBodies, control: Control): Promise<FloodReport> {
  const report: FloodReport = { statuses: {}, acceptedEvents: 0, bytesSent: 0 };
  const agent = new Agent({ keepAlive: true, maxSockets: plan.concurrency });
  const target = new URL('/v1/events', plan.url);
  /** POSTs one batch; resolves with the ms to wait before the next (Retry-After of a 429). */
  const post = (body: Buffer) =>
    new Promise<number>((resolve) => {
      const req = request(
        target,
        {
          method: 'POST',
          agent,
          headers: { authorization: `Bearer ${plan.token}`, 'content-type': 'application/cloudevents-batch+json' },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const status = String(res.statusCode);
            report.statuses[status] = (report.statuses[status] ?? 0) + 1;
            if (res.statusCode === 202) report.acceptedEvents += bodies.shape.events;
            const retryAfter = Number(res.headers['retry-after'] ?? 0);
            resolve(res.statusCode === 429 && !plan.ignoreRetryAfter ? retryAfter * 1000 : 0);
          });
        },
      );
      req.on('error', () => {
        report.statuses.error = (report.statuses.error ?? 0) + 1;
        resolve(0);
      });
      report.bytesSent += body.length;
      req.end(body);
    });
  let nextStart = 0;
  const loop = async () => {
    while (!control.stopped) {
      if (control.paused) {
        await sleep(10);
        continue;
      }
      if (plan.eventsPerSecond !== undefined) {
        const now = performance.now();
        nextStart = Math.max(nextStart, now);
        const wait = nextStart - now;
        nextStart += (bodies.shape.events * 1000) / plan.eventsPerSecond;
        if (wait > 0) await sleep(wait);
      }
      control.inFlight++;
      const wait = await post(Buffer.from(bodies.next()));
      control.inFlight--;
      if (control.paused && control.inFlight === 0) control.onIdle?.();
      // Wakes to stop within 100 ms, whatever the wait.
      for (let left = wait; left > 0 && !control.stopped && !control.paused; left -= 100) await sleep(Math.min(100, left));
    }
  };
  await Promise.all(Array.from({ length: plan.concurrency }, loop));
  agent.destroy();
  return report;
}

if (process.argv.includes('--flood')) {
  const control: Control = { paused: true, stopped: false, inFlight: 0 };
  process.once('message', (plan) => {
    process.on('message', (message) => {
      if (message === 'stop') control.stopped = true;
      if (message === 'resume') control.paused = false;
      if (message === 'pause') {
        control.paused = true;
        control.onIdle = () => {
          control.onIdle = undefined;
          process.send!('paused');
        };
        if (control.inFlight === 0) control.onIdle();
      }
    });
    const bodies = new BatchBodies(plan as FloodPlan);
    process.send!(bodies.shape);
    void runFlood(plan as FloodPlan, bodies, control).then((report) => process.send!(report));
  });
}
