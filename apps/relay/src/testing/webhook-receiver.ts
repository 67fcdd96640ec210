import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sleep } from '@tenantcast/testkit';

/** One request a receiver got. */
export interface Hit {
  at: number;
  method: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** What the receiver answered. */
  status: number;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before answering. */
  delayMs?: number;
}

export interface Receiver {
  url: string;
  hits: Hit[];
  /** Requests being answered right now, and the most at once. */
  inFlight: number;
  maxInFlight: number;
  /** Decides each answer; `attempt` counts from 1 per webhook-id. Default 204. */
  respond: (hit: Hit, attempt: number) => Answer;
  close(): Promise<void>;
}

/** An HTTP receiver on 127.0.0.1, on `port` (default any free one). */
export async function startReceiver(respond: Receiver['respond'] = () => ({ status: 204 }), port = 0): Promise<Receiver> {
  const attempts = new Map<string, number>();
  const receiver: Receiver = { url: '', hits: [], inFlight: 0, maxInFlight: 0, respond, close: async () => {} };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    receiver.inFlight++;
    receiver.maxInFlight = Math.max(receiver.maxInFlight, receiver.inFlight);
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const hit: Hit = {
        at: Date.now(),
        method: req.method ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        status: 0,
      };
      const id = String(req.headers['webhook-id']);
      const attempt = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, attempt);
      receiver.hits.push(hit);
      const answer = receiver.respond(hit, attempt);
      hit.status = answer.status;
      if (answer.delayMs) await sleep(answer.delayMs);
      receiver.inFlight--;
      if (!res.destroyed) res.writeHead(answer.status, answer.headers).end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}
