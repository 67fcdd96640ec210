import assert from 'node:assert/strict';
import type { StatusDetail } from '@tenantcast/sdk';
import { type MintTokenOptions, mintToken } from '@tenantcast/sdk/tokens';
import { uniqueTenant } from '@tenantcast/testkit';

// The refusals the SDK's subscribe() must report with the gateway's own code, promptly, in Node
// (subscribe-refusals.test.ts) and in Chromium (browser-refusals.test.ts).

/** The promise is "within a second"; tests assert it with a margin for a loaded machine. */
export const PROMPTLY_MS = 2000;

/** One refusal: what replaces the good token or adds an offset, and what the SDK must end with. */
export interface RefusalCase {
  name: string;
  /** The HTTP status of a refused upgrade; none for a subscribe refused by an `error` message. */
  status?: number;
  code: string;
  /** What the gateway's message says. */
  message: RegExp;
  options(): Promise<{ token?: string; after?: string }>;
}

/** The refusal cases; `token` mints a token of the stack's relay, read only when a case runs. */
export function refusalCases(token: (options: Partial<MintTokenOptions>) => Promise<string>): RefusalCase[] {
  return [
    {
      name: 'a token that does not verify (signed with another secret)',
      status: 401,
      code: 'TC_ERR_TOKEN_INVALID',
      message: /signature|verif/i,
      options: async () => ({ token: await mintToken({ sub: 'x', scope: 'subscribe', tenants: ['*'] }, 'another-secret-entirely') }),
    },
    {
      name: 'an expired token',
      status: 401,
      code: 'TC_ERR_TOKEN_INVALID',
      message: /expired/i,
      options: async () => ({ token: await token({ scope: 'subscribe', tenants: ['*'], expiresIn: -60 }) }),
    },
    { name: 'no token', status: 401, code: 'TC_ERR_UNAUTHORIZED', message: /token/i, options: async () => ({ token: '' }) },
    {
      name: 'a token without the subscribe scope',
      status: 403,
      code: 'TC_ERR_FORBIDDEN_SCOPE',
      message: /scope/i,
      options: async () => ({ token: await token({ scope: 'publish', tenants: ['*'] }) }),
    },
    {
      name: 'a token of another tenant',
      code: 'TC_ERR_FORBIDDEN_TENANT',
      message: /tenant/i,
      options: async () => ({ token: await token({ scope: 'subscribe', tenants: [uniqueTenant('someone-else')] }) }),
    },
    { name: 'a malformed offset', code: 'TC_ERR_BAD_OFFSET', message: /offset/i, options: async () => ({ after: 'yesterday' }) },
    {
      name: 'an offset past the stream’s end',
      code: 'TC_ERR_OFFSET_AHEAD',
      message: /after=0/,
      options: async () => ({ after: '9999999999999-0' }),
    },
  ];
}

/** Refused upgrades the SDK retries: the status and code a front answers, with `Retry-After: 1`. */
export const RETRIED_REFUSALS = [
  [503, 'TC_ERR_SHUTTING_DOWN'],
  [429, 'TC_ERR_TOO_MANY_CONNECTIONS'],
] as const;

/** Asserts that the first retry followed an upgrade refused with `status`, and waited its `Retry-After: 1`. */
export function assertRetriedAfter(statuses: ReadonlyArray<{ state: string } & StatusDetail>, status: number): void {
  const retried = statuses.find((s) => s.state === 'reconnecting');
  assert.ok(retried !== undefined, `a retry among ${JSON.stringify(statuses)}`);
  assert.equal(retried.code, 1006);
  assert.equal(retried.httpStatus, status);
  assert.ok(retried.delayMs !== undefined && retried.delayMs >= 1000, `waited Retry-After: ${retried.delayMs} ms`);
}
