/**
 * Load process: a local webhook receiver. Answers every POST with 204 at once and counts them.
 * (It does not verify signatures: that is the receiver's cost, not the relay's.)
 */
import { createServer } from 'node:http';
import { now, signalled } from '../lib/clock.ts';
import { serve } from '../lib/rpc.ts';

let received = 0;
let firstAt = 0;
let lastAt = 0;
let expected = Number.POSITIVE_INFINITY;
let done: (() => void) | undefined;
const ids = new Set<string>();

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const t = now();
    if (received === 0) firstAt = t;
    received++;
    lastAt = t;
    ids.add(String(req.headers['webhook-id']));
    res.writeHead(204).end();
    if (received >= expected && done) {
      const d = done;
      done = undefined;
      d();
    }
  });
});
server.keepAliveTimeout = 60_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const address = server.address();

serve(
  {
    arm(params: { expected: number }) {
      received = 0;
      firstAt = 0;
      lastAt = 0;
      ids.clear();
      expected = params.expected;
      return true;
    },
    async wait(params: { timeoutMs: number }) {
      let timedOut = false;
      if (received < expected) {
        ({ timedOut } = await signalled(params.timeoutMs, (signal) => {
          done = signal;
        }));
      }
      expected = Number.POSITIVE_INFINITY;
      return { received, distinct: ids.size, firstAt, lastAt, timedOut };
    },
  },
  { port: typeof address === 'object' && address !== null ? address.port : 0 },
);
