import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { TenantcastError } from './errors.ts';
import { isGranted, mintToken, type Scope, type TokenClaims, verifyToken } from './tokens.ts';

const secret = `test-secret-${randomUUID()}`;
const key = new TextEncoder().encode(secret);

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Checks a refusal: TC_ERR_TOKEN_INVALID, status 401, and a message matching `message`. */
function refused(message?: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof TenantcastError, `expected a TenantcastError, got ${String(error)}`);
    assert.equal(error.code, 'TC_ERR_TOKEN_INVALID');
    assert.equal(error.status, 401);
    if (message) assert.match(error.message, message);
    return true;
  };
}

function claims(scopes: Scope[], tenants: string[] | '*'): TokenClaims {
  return { sub: 'svc', scopes: new Set(scopes), tenants: tenants === '*' ? '*' : new Set(tenants), exp: undefined, iat: undefined };
}

describe('mintToken and verifyToken', () => {
  test('round-trip sub, scopes, tenants and expiry', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await mintToken(
      { sub: 'svc-a', scope: ['publish', 'subscribe'], tenants: ['acme', 'globex.eu'], expiresIn: '1h' },
      secret,
    );
    const verified = await verifyToken(token, secret);
    assert.equal(verified.sub, 'svc-a');
    assert.deepEqual([...verified.scopes].sort(), ['publish', 'subscribe']);
    assert.ok(verified.tenants !== '*');
    assert.deepEqual([...verified.tenants].sort(), ['acme', 'globex.eu']);
    assert.ok(verified.exp !== undefined && verified.exp >= now + 3600 && verified.exp <= now + 3601, String(verified.exp));
  });

  test('a single scope string and the "*" tenant', async () => {
    const verified = await verifyToken(await mintToken({ sub: 'ops', scope: 'admin', tenants: ['*'] }, secret), secret);
    assert.deepEqual([...verified.scopes], ['admin']);
    assert.equal(verified.tenants, '*');
  });

  test('"*" among tenant ids grants every tenant', async () => {
    const verified = await verifyToken(await mintToken({ sub: 'ops', scope: 'subscribe', tenants: ['acme', '*'] }, secret), secret);
    assert.equal(verified.tenants, '*');
  });

  test('a numeric expiresIn is seconds from now; without one a token lasts an hour; false means no expiry', async () => {
    const now = Math.floor(Date.now() / 1000);
    const timed = await verifyToken(await mintToken({ sub: 's', scope: 'publish', tenants: ['acme'], expiresIn: 60 }, secret), secret);
    assert.ok(timed.exp !== undefined && timed.exp >= now + 60 && timed.exp <= now + 61, String(timed.exp));
    assert.ok(timed.iat !== undefined && timed.iat >= now && timed.iat <= now + 1, String(timed.iat));
    const plain = await verifyToken(await mintToken({ sub: 's', scope: 'publish', tenants: ['acme'] }, secret), secret);
    assert.ok(plain.exp !== undefined && plain.exp >= now + 3600 && plain.exp <= now + 3601, String(plain.exp));
    const forever = await verifyToken(await mintToken({ sub: 's', scope: 'publish', tenants: ['acme'], expiresIn: false }, secret), secret);
    assert.equal(forever.exp, undefined);
  });

  test('issuer and audience: minted when asked, checked when the verifier asks', async () => {
    const token = await mintToken(
      { sub: 's', scope: 'publish', tenants: ['acme'], issuer: 'https://auth.acme', audience: 'tenantcast' },
      secret,
    );
    const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    assert.equal(payload.iss, 'https://auth.acme');
    assert.equal(payload.aud, 'tenantcast');
    assert.equal((await verifyToken(token, secret, { issuer: 'https://auth.acme', audience: 'tenantcast' })).sub, 's');
    await assert.rejects(verifyToken(token, secret, { issuer: 'https://other' }), refused(/"iss".*AUTH_ISSUER/));
    await assert.rejects(verifyToken(token, secret, { audience: 'other' }), refused(/"aud".*AUTH_AUDIENCE/));
    // Without the claim at all, when the verifier asks for it.
    const bare = await mintToken({ sub: 's', scope: 'publish', tenants: ['acme'] }, secret);
    await assert.rejects(verifyToken(bare, secret, { issuer: 'https://auth.acme' }), refused(/"iss"/));
    await assert.rejects(verifyToken(bare, secret, { audience: 'tenantcast' }), refused(/"aud"/));
    // An audience list that holds the verifier's.
    const listed = await mintToken({ sub: 's', scope: 'publish', tenants: ['acme'], audience: ['billing', 'tenantcast'] }, secret);
    assert.equal((await verifyToken(listed, secret, { audience: 'tenantcast' })).sub, 's');
  });

  test('requireExp refuses a token that never expires', async () => {
    const forever = await mintToken({ sub: 's', scope: 'publish', tenants: ['acme'], expiresIn: false }, secret);
    await assert.rejects(verifyToken(forever, secret, { requireExp: true }), refused(/"exp".*AUTH_ALLOW_NO_EXP/));
    assert.equal((await verifyToken(forever, secret)).exp, undefined);
  });

  test('a string secret is its UTF-8 bytes', async () => {
    const token = await mintToken({ sub: 's', scope: 'publish', tenants: ['acme'] }, 'sécret-ü');
    assert.equal((await verifyToken(token, new TextEncoder().encode('sécret-ü'))).sub, 's');
  });

  test('any set of valid tenant ids round-trips', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.stringMatching(/^[A-Za-z0-9._-]{1,128}$/), { minLength: 1, maxLength: 5 }),
        fc.subarray<Scope>(['publish', 'subscribe', 'admin'], { minLength: 1 }),
        async (tenants, scopes) => {
          const verified = await verifyToken(await mintToken({ sub: 'p', scope: scopes, tenants }, secret), secret);
          assert.ok(verified.tenants !== '*');
          assert.deepEqual([...verified.tenants].sort(), [...tenants].sort());
          assert.deepEqual([...verified.scopes].sort(), [...scopes].sort());
          for (const tenant of tenants) for (const scope of scopes) assert.ok(isGranted(verified, scope, tenant));
        },
      ),
      { numRuns: 30 },
    );
  });

  test('minting refuses unknown scopes and malformed tenant ids', async () => {
    const badOptions = (error: unknown) => error instanceof TenantcastError && error.code === 'TC_ERR_BAD_OPTIONS';
    await assert.rejects(mintToken({ sub: 's', scope: 'root', tenants: ['acme'] }, secret), badOptions);
    await assert.rejects(mintToken({ sub: 's', scope: [], tenants: ['acme'] }, secret), badOptions);
    await assert.rejects(mintToken({ sub: 's', scope: 'publish', tenants: ['acme corp'] }, secret), badOptions);
    await assert.rejects(mintToken({ sub: 's', scope: 'publish', tenants: ['a:b'] }, secret), badOptions);
  });
});

describe('verifyToken refuses', () => {
  test('an expired token, saying so', async () => {
    const token = await mintToken({ sub: 's', scope: 'publish', tenants: ['acme'], expiresIn: -10 }, secret);
    await assert.rejects(verifyToken(token, secret), refused(/expired/i));
  });

  test('a token signed with another secret', async () => {
    const token = await mintToken({ sub: 's', scope: 'publish', tenants: ['acme'] }, `other-${secret}`);
    await assert.rejects(verifyToken(token, secret), refused(/signature/i));
  });

  test('a token whose payload was changed after signing', async () => {
    const token = await mintToken({ sub: 's', scope: 'publish', tenants: ['acme'] }, secret);
    const [header, , signature] = token.split('.');
    const forged = `${header}.${b64url({ sub: 's', scope: 'publish admin', tenants: ['*'], iat: Math.floor(Date.now() / 1000) })}.${signature}`;
    await assert.rejects(verifyToken(forged, secret), refused());
  });

  test('an unsigned alg "none" token', async () => {
    const payload = { sub: 's', scope: 'publish', tenants: ['*'], iat: Math.floor(Date.now() / 1000) };
    await assert.rejects(verifyToken(`${b64url({ alg: 'none' })}.${b64url(payload)}.`, secret), refused());
    await assert.rejects(verifyToken(`${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(payload)}.`, secret), refused());
  });

  test('a token signed with HS512, even with the right secret', async () => {
    const token = await new SignJWT({ scope: 'publish', tenants: ['acme'] })
      .setProtectedHeader({ alg: 'HS512' })
      .setSubject('s')
      .setIssuedAt()
      .sign(key);
    await assert.rejects(verifyToken(token, secret), refused(/HS256/));
  });

  test('a token without "tenants"', async () => {
    const token = await new SignJWT({ scope: 'publish' }).setProtectedHeader({ alg: 'HS256' }).setSubject('s').sign(key);
    await assert.rejects(verifyToken(token, secret), refused(/tenants/));
  });

  test('a token whose "tenants" is not an array of strings', async () => {
    for (const tenants of ['acme', [1], { acme: true }]) {
      const token = await new SignJWT({ scope: 'publish', tenants }).setProtectedHeader({ alg: 'HS256' }).setSubject('s').sign(key);
      await assert.rejects(verifyToken(token, secret), refused(/tenants/));
    }
  });

  test('a token whose "tenants" holds a malformed tenant id (a glob, braces, empty)', async () => {
    for (const tenants of [['acme*'], ['{acme}'], [''], ['ok', 'a b']]) {
      const token = await new SignJWT({ scope: 'publish', tenants }).setProtectedHeader({ alg: 'HS256' }).setSubject('s').sign(key);
      await assert.rejects(verifyToken(token, secret), refused(/tenants/));
    }
  });

  test('minting refuses an empty tenants list', async () => {
    await assert.rejects(mintToken({ sub: 's', scope: 'publish', tenants: [] }, secret), /at least one tenant/);
  });

  test('a token without "scope"', async () => {
    const token = await new SignJWT({ tenants: ['acme'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('s').sign(key);
    await assert.rejects(verifyToken(token, secret), refused(/scope/));
  });

  test('a token without "sub"', async () => {
    const token = await new SignJWT({ scope: 'publish', tenants: ['acme'] }).setProtectedHeader({ alg: 'HS256' }).sign(key);
    await assert.rejects(verifyToken(token, secret), refused(/sub/));
  });

  test('strings that are not JWTs', async () => {
    for (const token of ['', 'not-a-jwt', 'a.b.c', `${b64url({ alg: 'HS256' })}.e30`]) {
      await assert.rejects(verifyToken(token, secret), refused());
    }
  });
});

describe('isGranted', () => {
  test('needs the scope and the tenant', () => {
    const c = claims(['publish'], ['acme', 'globex']);
    assert.equal(isGranted(c, 'publish', 'acme'), true);
    assert.equal(isGranted(c, 'publish', 'globex'), true);
    assert.equal(isGranted(c, 'publish', 'initech'), false);
    assert.equal(isGranted(c, 'subscribe', 'acme'), false);
    assert.equal(isGranted(c, 'admin', 'acme'), false);
  });

  test('"*" grants every tenant, but no extra scope', () => {
    const c = claims(['subscribe'], '*');
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (tenant) => {
        assert.equal(isGranted(c, 'subscribe', tenant), true);
        assert.equal(isGranted(c, 'publish', tenant), false);
      }),
    );
  });

  test('a literal tenant named like a glob grants only itself', () => {
    const c = claims(['publish'], ['acme*']);
    assert.equal(isGranted(c, 'publish', 'acme*'), true);
    assert.equal(isGranted(c, 'publish', 'acme-eu'), false);
  });

  test('no tenants grant nothing', () => {
    assert.equal(isGranted(claims(['publish', 'subscribe', 'admin'], []), 'admin', 'acme'), false);
  });

  test('unknown scopes in a verified token are dropped', async () => {
    const token = await new SignJWT({ scope: 'publish root', tenants: ['acme'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('s')
      .sign(key);
    const verified = await verifyToken(token, secret);
    assert.deepEqual([...verified.scopes], ['publish']);
    assert.equal(isGranted(verified, 'publish', 'acme'), true);
    assert.equal(isGranted(verified, 'admin', 'acme'), false);
  });
});
