/**
 * The ingest baseline of issue #21: a relay as one would hand-roll it. `node:http`, the body parsed
 * with one `JSON.parse` (an object is one event, an array a batch), each event serialized again and
 * written with one ioredis pipeline of `XADD <prefix>{<tenant>}:events MAXLEN ~ 100000 * e <json>`
 * per request (the relay's key layout and trim), and 202 with the offsets. No auth, no validation, no
 * dedupe, no rate limit, no atomicity (a pipeline is not a transaction), no live notification: what
 * the same path costs with none of the relay's guarantees.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Redis } from 'ioredis';
import { serve } from '../lib/rpc.ts';

const redis = new Redis(process.argv[2]!);
const keyPrefix = process.argv[3] ?? 'bench:';

function answer(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
}

async function ingest(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    answer(res, 400, '{"error":"invalid JSON"}');
    return;
  }
  const events = (Array.isArray(parsed) ? parsed : [parsed]) as Array<{ tenantid?: string }>;
  if (events.length === 0) {
    answer(res, 202, '{"accepted":[]}');
    return;
  }
  const pipeline = redis.pipeline();
  for (const event of events) {
    pipeline.xadd(`${keyPrefix}{${event.tenantid ?? 'default'}}:events`, 'MAXLEN', '~', 100_000, '*', 'e', JSON.stringify(event));
  }
  const results = (await pipeline.exec()) ?? [];
  const offsets: string[] = [];
  for (const [error, offset] of results) {
    if (error !== null) {
      answer(res, 500, JSON.stringify({ error: error.message }));
      return;
    }
    offsets.push(offset as string);
  }
  answer(res, 202, JSON.stringify({ accepted: offsets.map((offset) => ({ offset })) }));
}

const server = createServer((req, res) => {
  if (req.method === 'GET') {
    answer(res, 200, '{"ok":true}');
    return;
  }
  ingest(req, res).catch((error: unknown) => answer(res, 500, JSON.stringify({ error: String(error) })));
});
server.keepAliveTimeout = 60_000;

await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const address = server.address();
serve({}, { port: typeof address === 'object' && address !== null ? address.port : 0 });
