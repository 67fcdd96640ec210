import { parseRetryAfter } from '../backoff.ts';

// Why the gateway refused an upgrade: read from the answer in Node, asked for over plain HTTP in browsers.

/** The answer to a refused upgrade, as `ws` hands it over (a Node `IncomingMessage`). */
export interface UpgradeResponse {
  readonly statusCode?: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  setEncoding(encoding: 'utf8'): unknown;
  on(event: 'data', listener: (chunk: string) => void): unknown;
  on(event: 'end' | 'close' | 'error', listener: () => void): unknown;
}

/** How long asking the gateway why it refused an upgrade may take. */
const ASK_TIMEOUT_MS = 10_000;

/** A refused upgrade: its HTTP status, the code and message of its JSON body, and its Retry-After. */
export interface Refusal {
  status: number;
  code: string | undefined;
  message: string | undefined;
  retryAfterMs: number | undefined;
}

/** Reads a refusal; a body that is not tenantcast's `{"error":{"code","message"}}` (a proxy's page, say) leaves both undefined. */
function refusalOf(status: number, retryAfter: string | null | undefined, body: string): Refusal {
  let error: { code?: unknown; message?: unknown } | undefined;
  try {
    error = (JSON.parse(body) as { error?: typeof error } | null)?.error;
  } catch {
    error = undefined;
  }
  return {
    status,
    code: typeof error?.code === 'string' ? error.code : undefined,
    message: typeof error?.message === 'string' ? error.message : undefined,
    retryAfterMs: parseRetryAfter(retryAfter),
  };
}

/** Reads the answer `ws` hands over for a refused upgrade. */
export function readRefusal(response: UpgradeResponse): Promise<Refusal> {
  return new Promise((resolve) => {
    let body = '';
    const done = () => {
      const retryAfter = response.headers['retry-after'];
      resolve(refusalOf(response.statusCode ?? 0, Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, body));
    };
    response.setEncoding('utf8');
    response.on('data', (chunk) => {
      // A refusal is a small JSON document; the rest of a larger answer says nothing more.
      if (body.length < 65_536) body += chunk;
    });
    response.on('end', done);
    response.on('close', done);
    response.on('error', done);
  });
}

/**
 * Asks the gateway why it refused an upgrade, where the WebSocket API does not tell (browsers): a
 * plain GET of the same URL, token in the query, runs the upgrade's checks and answers the refusal
 * in JSON, readable across origins, or 426 when an upgrade would be accepted now (docs/protocol.md,
 * "Refused upgrades"). Undefined when the gateway cannot be reached.
 */
export async function askWhyRefused(url: string): Promise<Refusal | undefined> {
  const target = new URL(url);
  target.protocol = target.protocol === 'wss:' ? 'https:' : 'http:';
  try {
    const response = await fetch(target.href, { signal: AbortSignal.timeout(ASK_TIMEOUT_MS) });
    return refusalOf(response.status, response.headers.get('retry-after'), await response.text());
  } catch {
    return undefined;
  }
}
