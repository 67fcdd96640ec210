import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { mintToken } from '@tenantcast/sdk/tokens';
import { hs256Keys, type TokenPolicy, TokenVerifier } from './token-verifier.ts';

const SECRET = 'token-verifier-test-secret-0123';
const HOUR = 3600;

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Signs claims as given (HS256, RFC 7515), for tokens `mintToken` would not make: no `iat`, an old `iat`. */
function sign(claims: Record<string, unknown>): string {
  const input = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub: 's', scope: 'publish', tenants: ['acme'], ...claims })}`;
  return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}

function verifier(policy?: Partial<TokenPolicy>): TokenVerifier {
  return new TokenVerifier(hs256Keys(SECRET), {
    policy: policy === undefined ? undefined : { maxLifetimeSeconds: 24 * HOUR, allowNoExp: false, ...policy },
  });
}

/** Checks a refusal: 401 TC_ERR_TOKEN_INVALID, the invalid_token challenge, a message matching `message`. */
function refused(message: RegExp) {
  return (error: unknown): boolean => {
    const e = error as { code: string; status: number; message: string; headers: Record<string, string> };
    assert.equal(e.code, 'TC_ERR_TOKEN_INVALID', e.message);
    assert.equal(e.status, 401);
    assert.match(e.headers['www-authenticate'] ?? '', /error="invalid_token"/);
    assert.match(e.message, message);
    return true;
  };
}

describe('the token policy', () => {
  test('by default: tokens without exp are refused, naming AUTH_ALLOW_NO_EXP; an hour-long token is taken', async () => {
    const tokens = new TokenVerifier(hs256Keys(SECRET));
    const forever = await mintToken({ sub: 's', scope: 'publish', tenants: ['acme'], expiresIn: false }, SECRET);
    await assert.rejects(tokens.verify(forever), refused(/"exp".*AUTH_ALLOW_NO_EXP/));
    assert.equal((await tokens.verify(await mintToken({ sub: 's', scope: 'publish', tenants: ['acme'] }, SECRET))).sub, 's');
  });

  test('allowNoExp takes tokens without exp', async () => {
    const forever = await mintToken({ sub: 's', scope: 'publish', tenants: ['acme'], expiresIn: false }, SECRET);
    assert.equal((await verifier({ allowNoExp: true }).verify(forever)).exp, undefined);
  });

  test('by default a token may live 24 h (exp - iat): 24 h is taken, 24 h + 1 s is refused naming AUTH_MAX_TOKEN_LIFETIME_SECONDS', async () => {
    const tokens = new TokenVerifier(hs256Keys(SECRET));
    const mint = (expiresIn: number) => mintToken({ sub: 's', scope: 'publish', tenants: ['acme'], expiresIn }, SECRET);
    assert.equal((await tokens.verify(await mint(24 * HOUR))).sub, 's');
    await assert.rejects(tokens.verify(await mint(24 * HOUR + 1)), refused(/86401 s.*86400 s.*AUTH_MAX_TOKEN_LIFETIME_SECONDS/));
    await assert.rejects(tokens.verify(await mint(365 * 24 * HOUR)), refused(/AUTH_MAX_TOKEN_LIFETIME_SECONDS/));
  });

  test('the lifetime counts from iat even when little of it is left', async () => {
    const now = Math.floor(Date.now() / 1000);
    // Issued 30 days ago, expiring in an hour: a 30-day token.
    const old = sign({ iat: now - 30 * 24 * HOUR, exp: now + HOUR });
    await assert.rejects(verifier().verify(old), refused(/AUTH_MAX_TOKEN_LIFETIME_SECONDS/));
    assert.equal((await verifier({ maxLifetimeSeconds: 31 * 24 * HOUR }).verify(old)).sub, 's');
  });

  test('without iat, or with an iat in the future, the lifetime counts from now', async () => {
    const now = Math.floor(Date.now() / 1000);
    await assert.rejects(verifier().verify(sign({ exp: now + 25 * HOUR })), refused(/AUTH_MAX_TOKEN_LIFETIME_SECONDS/));
    assert.equal((await verifier().verify(sign({ exp: now + 23 * HOUR }))).iat, undefined);
    // An iat a year ahead does not make a year-long token look an hour long.
    const future = sign({ iat: now + 365 * 24 * HOUR, exp: now + 365 * 24 * HOUR + HOUR });
    await assert.rejects(verifier().verify(future), refused(/AUTH_MAX_TOKEN_LIFETIME_SECONDS/));
  });

  test('issuer: refused when it differs or is missing, naming AUTH_ISSUER; taken when it matches', async () => {
    const tokens = verifier({ issuer: 'https://auth.acme' });
    const mint = (issuer?: string) => mintToken({ sub: 's', scope: 'publish', tenants: ['acme'], issuer }, SECRET);
    assert.equal((await tokens.verify(await mint('https://auth.acme'))).sub, 's');
    await assert.rejects(tokens.verify(await mint('https://auth.other')), refused(/"iss".*AUTH_ISSUER/));
    await assert.rejects(tokens.verify(await mint()), refused(/"iss".*AUTH_ISSUER/));
  });

  test('audience: refused when the token does not name it, naming AUTH_AUDIENCE; taken when it does', async () => {
    const tokens = verifier({ audience: 'tenantcast' });
    const mint = (audience?: string | string[]) => mintToken({ sub: 's', scope: 'publish', tenants: ['acme'], audience }, SECRET);
    assert.equal((await tokens.verify(await mint('tenantcast'))).sub, 's');
    assert.equal((await tokens.verify(await mint(['billing', 'tenantcast']))).sub, 's');
    await assert.rejects(tokens.verify(await mint('billing')), refused(/"aud".*AUTH_AUDIENCE/));
    await assert.rejects(tokens.verify(await mint()), refused(/"aud".*AUTH_AUDIENCE/));
  });

  test('a token refused by the policy is not cached as taken: it is refused again', async () => {
    const tokens = verifier({ maxLifetimeSeconds: HOUR });
    const long = await mintToken({ sub: 's', scope: 'publish', tenants: ['acme'], expiresIn: 2 * HOUR }, SECRET);
    await assert.rejects(tokens.verify(long), refused(/AUTH_MAX_TOKEN_LIFETIME_SECONDS/));
    await assert.rejects(tokens.verify(long), refused(/AUTH_MAX_TOKEN_LIFETIME_SECONDS/));
  });
});

describe('a secret rotated (TENANTCAST_SECRET_PREVIOUS)', () => {
  const OLD = 'the-previous-secret-0123456789';
  const NEW = 'the-current-secret-0123456789ab';
  const rotated = () => new TokenVerifier(hs256Keys(NEW, OLD));
  const authorization = (token: string) => ({ authorization: `Bearer ${token}` });

  test('tokens signed with the previous secret still verify, as do new ones; without it, old ones are refused', async () => {
    const old = await mintToken({ sub: 'old', scope: 'publish', tenants: ['acme'] }, OLD);
    const fresh = await mintToken({ sub: 'new', scope: 'publish', tenants: ['acme'] }, NEW);
    assert.equal((await rotated().authenticate(authorization(old))).sub, 'old');
    assert.equal((await rotated().authenticate(authorization(fresh))).sub, 'new');
    await assert.rejects(new TokenVerifier(hs256Keys(NEW)).authenticate(authorization(old)), /signature does not verify/);
  });

  test('a token of neither secret is refused for its signature; an expired old one for its expiry', async () => {
    const other = await mintToken({ sub: 'x', scope: 'publish', tenants: ['acme'] }, 'neither-of-the-two-secrets-0123');
    await assert.rejects(rotated().authenticate(authorization(other)), /signature does not verify/);
    const expired = await mintToken({ sub: 'old', scope: 'publish', tenants: ['acme'], expiresIn: -10 }, OLD);
    await assert.rejects(rotated().authenticate(authorization(expired)), /expired/i);
  });
});
