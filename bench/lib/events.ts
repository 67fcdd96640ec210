/**
 * The benchmark's event: a CloudEvent of about 300 bytes, shaped like Qlik's web-integration events.
 * Its first attribute, the extension `benchts`, is the publish time (bench/lib/clock.ts) for
 * latency, first so that a client finds it in the first bytes of a frame; `data.n` is a sequence number.
 */
export function benchEvent(tenantid: string, id: string, n: number, t = 0): Record<string, unknown> {
  return {
    benchts: t.toFixed(3),
    specversion: '1.0',
    id,
    source: 'bench/publisher',
    type: 'com.example.bench.updated',
    tenantid,
    time: '2025-01-01T00:00:00.000Z',
    datacontenttype: 'application/json',
    data: {
      n,
      id: 'wi-bench',
      name: 'Benchmark web integration',
      validOrigins: ['https://portal.example', 'https://admin.example'],
    },
  };
}

/** How many leading bytes of a frame hold `benchts` (after `{"relayoffset":"…",` or Socket.IO's `42["event",`). */
export const PUBLISH_TIME_PREFIX = 128;

/** Reads the `benchts` attribute out of a frame's first bytes without parsing the JSON; NaN when absent. */
export function publishTimeOf(frame: Buffer): number {
  const key = frame.indexOf('"benchts":"');
  if (key < 0) return Number.NaN;
  const start = key + 11;
  const end = frame.indexOf(0x22, start); // closing quote
  return end < 0 ? Number.NaN : Number(frame.toString('latin1', start, end));
}
