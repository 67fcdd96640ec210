import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';

/** An HTTP receiver of webhook deliveries on 127.0.0.1. */
export interface Receiver {
  url: string;
  deliveries: Array<{ headers: IncomingHttpHeaders; body: string }>;
  server: Server;
}

/** How the receiver answers a delivery: a status, and a body and content type if any. */
export type Answer = () => { status: number; body?: string; type?: string };

/** Starts a receiver that records every delivery and answers it with `answer` (204 by default). */
export async function startReceiver(t: TestContext, answer: Answer = () => ({ status: 204 })): Promise<Receiver> {
  const deliveries: Receiver['deliveries'] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      deliveries.push({ headers: req.headers, body });
      const { status, body: text, type } = answer();
      res.writeHead(status, type === undefined ? {} : { 'content-type': type }).end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, deliveries, server };
}
