import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { mintToken } from '@tenantcast/sdk/tokens';
import { startIdentityProvider, type TestIdentityProvider } from '@tenantcast/testkit';
import { exportJWK, SignJWT } from 'jose';
import { createTokenVerifier, type TokenVerifier, type TokenVerifierConfig } from './token-verifier.ts';

const SECRET = 'jwks-keys-test-secret-0123456789';

/** A verifier of the configuration a server reads, with the JWKS of `jwksUrls` and short cooldowns. */
function verifier(jwksUrls: string[], overrides: Partial<TokenVerifierConfig> = {}, log?: { warn(): void }): TokenVerifier {
  return createTokenVerifier(
    {
      secret: SECRET,
      authMaxTokenLifetimeSeconds: 24 * 3600,
      authAllowNoExp: false,
      authJwksUrls: jwksUrls,
      authAlgorithms: ['RS256', 'ES256', 'EdDSA'],
      authJwksCooldownMs: 0,
      authJwksTimeoutMs: 1000,
      authJwksMaxAgeMs: 600_000,
      authTenantsClaim: 'tenants',
      authScopeClaim: 'scope',
      authDefaultScope: 'subscribe',
      ...overrides,
    },
    log,
  );
}

/** Checks a refusal: `code` (TC_ERR_TOKEN_INVALID by default) and a message matching `message`. */
function refused(message: RegExp, code = 'TC_ERR_TOKEN_INVALID') {
  return (error: unknown): boolean => {
    const e = error as { code: string; message: string };
    assert.equal(e.code, code, e.message);
    assert.match(e.message, message);
    return true;
  };
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('tokens of an identity provider (AUTH_JWKS_URLS)', () => {
  let idp: TestIdentityProvider;
  before(async () => {
    idp = await startIdentityProvider();
  });
  after(() => idp.close());

  for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
    test(`${alg}: a token signed with a published key verifies, its claims read`, async () => {
      const kid = await idp.addKey(alg);
      const token = await idp.sign({ sub: `user-${alg}`, scope: 'publish subscribe', tenants: ['acme', 'globex'] }, { kid });
      const claims = await verifier([idp.jwksUrl]).verify(token);
      assert.equal(claims.sub, `user-${alg}`);
      assert.deepEqual([...claims.scopes].sort(), ['publish', 'subscribe']);
      assert.deepEqual(claims.tenants, new Set(['acme', 'globex']));
    });
  }

  test('HS256 tokens of TENANTCAST_SECRET keep verifying beside the JWKS', async () => {
    const token = await mintToken({ sub: 'svc', scope: 'publish', tenants: ['acme'] }, SECRET);
    assert.equal((await verifier([idp.jwksUrl]).verify(token)).sub, 'svc');
  });

  test('a key rotated in (new kid) verifies without a restart; a removed key is refused after the refetch, even from the cache', async () => {
    const tokens = verifier([idp.jwksUrl]);
    const oldKid = await idp.addKey('RS256');
    const oldToken = await idp.sign({ sub: 'u', tenants: ['acme'] }, { kid: oldKid });
    assert.equal((await tokens.verify(oldToken)).sub, 'u');

    const newKid = await idp.addKey('RS256');
    idp.removeKey(oldKid);
    const fetches = idp.fetches;
    assert.equal((await tokens.verify(await idp.sign({ sub: 'u2', tenants: ['acme'] }, { kid: newKid }))).sub, 'u2');
    assert.equal(idp.fetches, fetches + 1, 'the unknown kid made one refetch');
    await assert.rejects(tokens.verify(oldToken), refused(/"kid".*AUTH_JWKS_URLS/));
    await assert.rejects(tokens.verify(await idp.sign({ sub: 'u3', tenants: ['acme'] }, { kid: oldKid })), refused(/"kid"/));
  });

  test('unknown kids refetch no oftener than AUTH_JWKS_COOLDOWN_MS', async () => {
    const tokens = verifier([idp.jwksUrl], { authJwksCooldownMs: 60_000 });
    await idp.addKey('ES256');
    await tokens.verify(await idp.sign({ sub: 'u', tenants: ['acme'] }));
    const fetches = idp.fetches;
    for (let i = 0; i < 20; i += 1) {
      const forged = await idp.sign({ sub: 'u', tenants: ['acme'] }, { header: { kid: `nobody-${i}` } });
      await assert.rejects(tokens.verify(forged), refused(/"kid"/));
    }
    assert.equal(idp.fetches, fetches, 'no refetch within the cooldown');
  });

  test('the JWKS server stopped: cached keys still verify, unknown kids are refused at once, and it is fetched again once back', async () => {
    const tokens = verifier([idp.jwksUrl], { authJwksCooldownMs: 200 });
    const kid = await idp.addKey('RS256');
    await tokens.verify(await idp.sign({ sub: 'warm', tenants: ['acme'] }, { kid }));
    await idp.stop();
    try {
      assert.equal((await tokens.verify(await idp.sign({ sub: 'cached', tenants: ['acme'] }, { kid }))).sub, 'cached');
      const unknown = await idp.sign({ sub: 'u', tenants: ['acme'] }, { header: { kid: 'not-published' } });
      const started = Date.now();
      await assert.rejects(tokens.verify(unknown), refused(/"kid"/));
      await assert.rejects(tokens.verify(unknown), refused(/"kid"/));
      assert.ok(Date.now() - started < 900, 'refused without waiting for the fetch timeout');
    } finally {
      await idp.start();
    }
    const later = await idp.addKey('RS256');
    await new Promise((resolve) => setTimeout(resolve, 250));
    assert.equal((await tokens.verify(await idp.sign({ sub: 'back', tenants: ['acme'] }, { kid: later }))).sub, 'back');
  });

  test('keys older than AUTH_JWKS_MAX_AGE_MS are fetched again in the background: a removed key stops verifying without an unknown kid', async () => {
    const tokens = verifier([idp.jwksUrl], { authJwksMaxAgeMs: 100, authJwksCooldownMs: 100 });
    const kid = await idp.addKey('RS256');
    await tokens.verify(await idp.sign({ sub: 'first', tenants: ['acme'] }, { kid }));
    idp.removeKey(kid);
    await new Promise((resolve) => setTimeout(resolve, 150));
    // Stale: this one still verifies with the cached key, and starts a fetch it does not wait for.
    assert.equal((await tokens.verify(await idp.sign({ sub: 'stale', tenants: ['acme'] }, { kid }))).sub, 'stale');
    await new Promise((resolve) => setTimeout(resolve, 100));
    await assert.rejects(tokens.verify(await idp.sign({ sub: 'after', tenants: ['acme'] }, { kid })), refused(/"kid"/));
  });

  test('stale keys with the provider down keep verifying; the failed refresh is tried (and logged) once per cooldown', async () => {
    let warnings = 0;
    const tokens = verifier(
      [idp.jwksUrl],
      { authJwksMaxAgeMs: 50, authJwksCooldownMs: 60_000 },
      {
        warn: () => {
          warnings += 1;
        },
      },
    );
    const kid = await idp.addKey('ES256');
    await tokens.verify(await idp.sign({ sub: 'warm', tenants: ['acme'] }, { kid }));
    await idp.stop();
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      for (let i = 0; i < 5; i += 1) {
        assert.equal((await tokens.verify(await idp.sign({ sub: `down-${i}`, tenants: ['acme'] }, { kid }))).sub, `down-${i}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(warnings, 1);
    } finally {
      await idp.start();
    }
  });

  test('a JWKS unreachable with no key cached yet: 503 TC_ERR_KEYS_UNAVAILABLE, not a hang', async () => {
    const port = await closedPort();
    const tokens = verifier([`http://127.0.0.1:${port}/jwks.json`]);
    const kid = await idp.addKey('RS256');
    await assert.rejects(
      tokens.verify(await idp.sign({ sub: 'u', tenants: ['acme'] }, { kid })),
      refused(/AUTH_JWKS_URLS/, 'TC_ERR_KEYS_UNAVAILABLE'),
    );
  });

  test('several JWKS URLs: a key of any of them verifies', async () => {
    const other = await startIdentityProvider();
    try {
      const kid = await other.addKey('EdDSA');
      await idp.addKey('RS256');
      const tokens = verifier([idp.jwksUrl, other.jwksUrl]);
      assert.equal((await tokens.verify(await other.sign({ sub: 'from-other', tenants: ['acme'] }, { kid }))).sub, 'from-other');
      assert.equal((await tokens.verify(await idp.sign({ sub: 'from-first', tenants: ['acme'] }))).sub, 'from-first');
    } finally {
      await other.close();
    }
  });

  test('a URL answering 200 with a document that is not a key set: 503, fetched no oftener than the cooldown', async (t) => {
    let hits = 0;
    const server = createHttpServer((_req, res) => {
      hits += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"issuer":"https://idp.example"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise((resolve) => server.close(resolve)));
    const { port } = server.address() as { port: number };
    const tokens = verifier([`http://127.0.0.1:${port}/.well-known/openid-configuration`], { authJwksCooldownMs: 60_000 });
    const kid = await idp.addKey('RS256');
    for (let i = 0; i < 5; i += 1) {
      await assert.rejects(
        tokens.verify(await idp.sign({ sub: `u${i}`, tenants: ['acme'] }, { kid })),
        refused(/AUTH_JWKS_URLS/, 'TC_ERR_KEYS_UNAVAILABLE'),
      );
    }
    assert.equal(hits, 1);
  });

  test('several JWKS URLs, the first unreachable: tokens of the second still verify', async () => {
    const other = await startIdentityProvider();
    try {
      const kid = await other.addKey('ES256');
      const tokens = verifier([`http://127.0.0.1:${await closedPort()}/jwks.json`, other.jwksUrl]);
      assert.equal((await tokens.verify(await other.sign({ sub: 'from-second', tenants: ['acme'] }, { kid }))).sub, 'from-second');
    } finally {
      await other.close();
    }
  });

  test('a token without a kid, two keys of its algorithm published (a rotation): the one that signed it verifies it', async () => {
    const other = await startIdentityProvider();
    try {
      await other.addKey('ES256');
      const signer = await other.addKey('ES256');
      const token = await other.sign({ sub: 'no-kid', tenants: ['acme'] }, { kid: signer, header: { kid: undefined } });
      assert.equal((await verifier([other.jwksUrl]).verify(token)).sub, 'no-kid');
    } finally {
      await other.close();
    }
  });

  test('a cached token stops verifying once its key is removed and the stale set is fetched again', async () => {
    const tokens = verifier([idp.jwksUrl], { authJwksMaxAgeMs: 100, authJwksCooldownMs: 50 });
    const kid = await idp.addKey('RS256');
    const token = await idp.sign({ sub: 'cached', tenants: ['acme'] }, { kid });
    assert.equal((await tokens.verify(token)).sub, 'cached');
    idp.removeKey(kid);
    await new Promise((resolve) => setTimeout(resolve, 150));
    // A cache hit: it verifies from the cache, and starts the refresh it does not wait for.
    assert.equal((await tokens.verify(token)).sub, 'cached');
    await new Promise((resolve) => setTimeout(resolve, 150));
    await assert.rejects(tokens.verify(token), refused(/"kid"/));
  });

  test('AUTH_ISSUER and AUTH_AUDIENCE are checked on provider tokens', async () => {
    await idp.addKey('RS256');
    const tokens = verifier([idp.jwksUrl], { authIssuer: idp.issuer, authAudience: 'tenantcast' });
    assert.equal((await tokens.verify(await idp.sign({ sub: 'u', tenants: ['acme'], aud: 'tenantcast' }))).sub, 'u');
    const wrongAud = await idp.sign({ sub: 'u', tenants: ['acme'], aud: 'billing' });
    await assert.rejects(tokens.verify(wrongAud), refused(/"aud".*AUTH_AUDIENCE/));
    const wrongIss = verifier([idp.jwksUrl], { authIssuer: 'https://someone-else.example' });
    await assert.rejects(wrongIss.verify(await idp.sign({ sub: 'u', tenants: ['acme'] })), refused(/"iss".*AUTH_ISSUER/));
  });

  test('no algorithm confusion: HS256 signed with the public key as its secret is refused; alg none never passes', async () => {
    const kid = await idp.addKey('RS256');
    const jwk = idp.publicJwk(kid);
    const claims = { sub: 'attacker', scope: 'tenantcast:admin', tenants: ['*'], exp: Math.floor(Date.now() / 1000) + 600 };
    const tokens = verifier([idp.jwksUrl]);
    for (const secret of [new TextEncoder().encode(JSON.stringify(jwk)), new TextEncoder().encode(String(jwk.n))]) {
      const confused = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid }).sign(secret);
      await assert.rejects(tokens.verify(confused), refused(/signature does not verify/));
    }
    await assert.rejects(tokens.verify(`${b64url({ alg: 'none', kid })}.${b64url(claims)}.`), refused(/algorithm "none" not allowed/));
    const publicAsJwk = await exportJWK(
      await crypto.subtle.importKey('jwk', jwk, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, true, ['verify']),
    );
    assert.equal(publicAsJwk.d, undefined, 'the JWKS holds no private parts');
  });

  test('an algorithm outside AUTH_ALGORITHMS is refused, naming the setting', async () => {
    const kid = await idp.addKey('ES256');
    const tokens = verifier([idp.jwksUrl], { authAlgorithms: ['RS256'] });
    await assert.rejects(
      tokens.verify(await idp.sign({ sub: 'u', tenants: ['acme'] }, { kid })),
      refused(/"ES256" not allowed.*AUTH_ALGORITHMS/),
    );
  });

  test('without AUTH_JWKS_URLS an RS256 token is refused, saying how to accept it', async () => {
    const kid = await idp.addKey('RS256');
    await assert.rejects(
      verifier([]).verify(await idp.sign({ sub: 'u', tenants: ['acme'] }, { kid })),
      refused(/"RS256" not allowed.*AUTH_JWKS_URLS/),
    );
  });
});

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
