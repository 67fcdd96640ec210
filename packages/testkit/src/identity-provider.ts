import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';

/** An asymmetric algorithm a test identity provider signs with. */
export type TestAlgorithm = 'RS256' | 'ES256' | 'EdDSA';

interface SigningKey {
  kid: string;
  alg: TestAlgorithm;
  privateKey: CryptoKey;
  jwk: JWK;
}

/**
 * A stand-in for an identity provider (Auth0, Keycloak, Entra ID): key pairs made with jose, their
 * public halves served as a JWKS over real HTTP on 127.0.0.1, tokens signed with them. Keys can be
 * added and removed (rotation) and the server stopped and started again on the same port (an outage).
 */
export interface TestIdentityProvider {
  /** The JWKS URL, for AUTH_JWKS_URLS. */
  readonly jwksUrl: string;
  /** The `iss` its tokens carry unless their claims name another. */
  readonly issuer: string;
  /** How many times the JWKS was fetched. */
  readonly fetches: number;
  /** Makes a key pair and publishes its public key; returns its `kid`. */
  addKey(alg: TestAlgorithm): Promise<string>;
  /** Stops publishing a key (its private half still signs, for tokens that must then be refused). */
  removeKey(kid: string): void;
  /** Signs `claims` with the key `kid` (default: the newest), as the provider would, lasting `expiresIn` seconds (default 600). */
  sign(claims: JWTPayload, options?: { kid?: string; expiresIn?: number; header?: Record<string, unknown> }): Promise<string>;
  /** The public JWK of `kid`, as published. */
  publicJwk(kid: string): JWK;
  /** Stops answering (connections refused) until `start()`. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a test identity provider with no keys yet (see `addKey`). */
export async function startIdentityProvider(): Promise<TestIdentityProvider> {
  /** The published keys. */
  const keys = new Map<string, SigningKey>();
  /** Every key made, removed ones too: a removed key still signs (tokens that must be refused). */
  const signers = new Map<string, SigningKey>();
  let fetches = 0;
  let count = 0;
  const handler = (request: { url?: string }, response: import('node:http').ServerResponse) => {
    if (request.url !== '/.well-known/jwks.json') {
      response.writeHead(404).end();
      return;
    }
    fetches += 1;
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ keys: [...keys.values()].map((key) => key.jwk) }));
  };
  let server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;

  const stop = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });

  return {
    jwksUrl: `${origin}/.well-known/jwks.json`,
    issuer: origin,
    get fetches() {
      return fetches;
    },
    async addKey(alg) {
      const pair = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
      count += 1;
      const kid = `${alg.toLowerCase()}-${count}`;
      const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' };
      const key = { kid, alg, privateKey: pair.privateKey, jwk };
      keys.set(kid, key);
      signers.set(kid, key);
      return kid;
    },
    removeKey(kid) {
      keys.delete(kid);
    },
    async sign(claims, options = {}) {
      const kid = options.kid ?? [...signers.keys()].at(-1);
      const key = kid === undefined ? undefined : signers.get(kid);
      if (key === undefined) throw new Error(`no key ${kid}; add one with addKey()`);
      return new SignJWT(claims)
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...options.header })
        .setIssuer(typeof claims.iss === 'string' ? claims.iss : origin)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + (options.expiresIn ?? 600))
        .sign(key.privateKey);
    },
    publicJwk(kid) {
      const key = signers.get(kid);
      if (key === undefined) throw new Error(`no key ${kid}`);
      return key.jwk;
    },
    stop,
    async start() {
      server = createServer(handler);
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    close: () => (server.listening ? stop() : Promise.resolve()),
  };
}
