import { TenantcastError } from '@tenantcast/sdk';
import { joseClaimChecks, type TokenClaims, tokenRefusal, type VerifyTokenOptions } from '@tenantcast/sdk/tokens';
import { createRemoteJWKSet, customFetch, type JWTHeaderParameters, errors as joseErrors, jwtVerify } from 'jose';
import { ServiceError } from '../errors.ts';
import { type ClaimsMapping, mapClaims } from './claims-mapping.ts';
import type { KeySource } from './key-sources.ts';

/** How the keys of identity providers are fetched and kept (the AUTH_JWKS_* settings). */
export interface JwksOptions {
  /** The JWKS documents' URLs (AUTH_JWKS_URLS). */
  urls: readonly string[];
  /** The algorithms a JWKS key may sign with (AUTH_ALGORITHMS): asymmetric ones only. */
  algorithms: readonly string[];
  /** Where the provider's tokens carry tenantcast's claims. */
  mapping: ClaimsMapping;
  /** Least time between two fetches of one JWKS, for an unknown `kid` or after a failure (AUTH_JWKS_COOLDOWN_MS). */
  cooldownMs: number;
  /** Longest a fetch may take (AUTH_JWKS_TIMEOUT_MS). */
  timeoutMs: number;
  /** Keys older than this are fetched again in the background while the cached ones keep verifying (AUTH_JWKS_MAX_AGE_MS). */
  maxAgeMs: number;
  /** Where a failed background refresh is told. */
  log?: { warn(fields: Record<string, unknown>, message: string): void };
}

/**
 * One JWKS document, behind jose's remote key set (which caches the keys, refetches once for an
 * unknown `kid` and no oftener than its cooldown, and shares a fetch in flight). Around it, what
 * jose leaves to the caller: cached keys keep verifying while the provider is down (a stale set is
 * refreshed in the background, never awaited once one is cached), a failed fetch is not retried
 * within the cooldown (so a flood of unknown `kid`s costs one fetch, not one each), and a
 * `generation` that moves when the document changes, so that tokens verified with a removed key
 * stop being trusted from a cache.
 */
class RemoteKeySet {
  readonly url: string;
  generation = 0;
  readonly #options: JwksOptions;
  readonly #jose: ReturnType<typeof createRemoteJWKSet>;
  #loadedAt = Number.NEGATIVE_INFINITY;
  #failedAt = Number.NEGATIVE_INFINITY;
  #document: string | undefined;

  constructor(url: string, options: JwksOptions) {
    this.url = url;
    this.#options = options;
    this.#jose = createRemoteJWKSet(new URL(url), {
      cacheMaxAge: Number.POSITIVE_INFINITY,
      cooldownDuration: options.cooldownMs,
      timeoutDuration: options.timeoutMs,
      [customFetch]: this.#fetch,
    });
  }

  /** jose's key lookup: a key of this set for the token's header, or JWKSNoMatchingKey. */
  readonly getKey = async (header: JWTHeaderParameters, token: Parameters<ReturnType<typeof createRemoteJWKSet>>[1]) => {
    const cached = this.#loadedAt !== Number.NEGATIVE_INFINITY;
    this.refreshIfDue();
    try {
      return await this.#jose(header, token);
    } catch (error) {
      if (!fetchFailed(error)) throw error;
      // A fetch failed. With keys cached, the token's key is simply not among them.
      if (cached) throw new joseErrors.JWKSNoMatchingKey();
      throw new ServiceError('TC_ERR_KEYS_UNAVAILABLE', undefined, {
        retryAfter: Math.ceil(this.#options.cooldownMs / 1000) || 1,
        cause: error,
      });
    }
  };

  /** Stale keys are fetched again, once at a time, and not within the cooldown of a failed fetch (one warning per cooldown). */
  #due(): boolean {
    const now = Date.now();
    return now - this.#loadedAt > this.#options.maxAgeMs && !this.#jose.reloading && now - this.#failedAt >= this.#options.cooldownMs;
  }

  #refreshInBackground(): void {
    this.#jose.reload().catch((error: unknown) => {
      this.#options.log?.warn({ url: this.url, err: error }, 'JWKS refresh failed; the cached keys keep verifying');
    });
  }

  /** jose fetches through this: a failure within the cooldown is not retried; a changed document moves `generation`. */
  readonly #fetch = async (url: string, init: RequestInit): Promise<Response> => {
    if (Date.now() - this.#failedAt < this.#options.cooldownMs) {
      throw new joseErrors.JOSEError(`the JWKS at ${this.url} failed less than AUTH_JWKS_COOLDOWN_MS ago`);
    }
    try {
      const response = await fetch(url, init);
      if (response.status !== 200) throw new joseErrors.JOSEError(`the JWKS at ${this.url} answered ${response.status}`);
      const text = await response.clone().text();
      // A 200 that is not a key set (AUTH_JWKS_URLS pointing at the OpenID configuration, say) is a
      // failed fetch: throttled and logged, never taken as "no such key".
      if (!Array.isArray((JSON.parse(text) as { keys?: unknown } | null)?.keys)) {
        throw new joseErrors.JWKSInvalid(`the document at ${this.url} is not a JSON Web Key Set (no "keys" array)`);
      }
      if (text !== this.#document) {
        this.#document = text;
        this.generation += 1;
      }
      this.#loadedAt = Date.now();
      return response;
    } catch (error) {
      this.#failedAt = Date.now();
      if (this.#loadedAt === Number.NEGATIVE_INFINITY) {
        this.#options.log?.warn({ url: this.url, err: error }, 'JWKS fetch failed; tokens of its keys are refused until it answers');
      }
      throw error;
    }
  };

  /** Starts a background refresh when the keys are older than AUTH_JWKS_MAX_AGE_MS (see `#due`). */
  refreshIfDue(): void {
    if (this.#loadedAt !== Number.NEGATIVE_INFINITY && this.#due()) this.#refreshInBackground();
  }
}

/** Whether jose's key lookup failed for want of the document (unreachable, timed out, not a JWKS), not for the token. */
function fetchFailed(error: unknown): boolean {
  if (!(error instanceof joseErrors.JOSEError)) return true;
  const { code } = error as InstanceType<typeof joseErrors.JOSEError>;
  return error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid || code === 'ERR_JOSE_GENERIC';
}

/**
 * The key source of identity providers' tokens: any number of JWKS URLs, tried in turn for the
 * token's `kid`. Only the asymmetric algorithms of AUTH_ALGORITHMS pass (jose checks the token's
 * `alg` against them and against the key's own), and the claims are read through the mapping.
 */
export class JwksKeys implements KeySource {
  readonly #sets: RemoteKeySet[];
  readonly #options: JwksOptions;
  /** What a refusal says to sign with. */
  readonly #refusal: { keys: string; algorithms: string };

  constructor(options: JwksOptions) {
    this.#options = options;
    this.#sets = options.urls.map((url) => new RemoteKeySet(url, options));
    this.#refusal = { keys: 'a key published at AUTH_JWKS_URLS', algorithms: options.algorithms.join(', ') };
  }

  /** Moves whenever a JWKS document changes: claims verified before may rest on a removed key. */
  get generation(): number {
    return this.#sets.reduce((sum, set) => sum + set.generation, 0);
  }

  /** Starts background refreshes of stale sets; the verifier calls it on every token, cached ones too. */
  refreshIfDue(): void {
    for (const set of this.#sets) set.refreshIfDue();
  }

  /**
   * Tries each JWKS for the token's key. A set that cannot be fetched does not stop the others: its
   * 503 is answered only when no other set holds the key either.
   */
  async verify(token: string, checks: VerifyTokenOptions): Promise<TokenClaims> {
    const options = { algorithms: [...this.#options.algorithms], ...joseClaimChecks(checks) };
    let unavailable: ServiceError | undefined;
    for (const set of this.#sets) {
      let payload: Record<string, unknown> | undefined;
      try {
        ({ payload } = await jwtVerify(token, set.getKey, options));
      } catch (error) {
        if (error instanceof joseErrors.JWKSMultipleMatchingKeys) payload = await this.#verifyWithEach(token, error, options);
        else if (error instanceof ServiceError) unavailable ??= error;
        else if (!(error instanceof joseErrors.JWKSNoMatchingKey)) throw tokenRefusal(error, this.#refusal);
      }
      if (payload !== undefined) return mapClaims(payload, this.#options.mapping);
    }
    if (unavailable !== undefined) throw unavailable;
    throw new TenantcastError(
      'TC_ERR_TOKEN_INVALID',
      `Token's key (its "kid" header) is in none of the JWKS of AUTH_JWKS_URLS, even after fetching them again; sign it with a key your identity provider publishes.`,
      { status: 401 },
    );
  }

  /**
   * A token without a `kid` that several keys of a set could have signed (during a rotation): each
   * is tried, as jose's error offers them. Undefined when none verifies the signature.
   */
  async #verifyWithEach(
    token: string,
    candidates: InstanceType<typeof joseErrors.JWKSMultipleMatchingKeys>,
    options: Parameters<typeof jwtVerify>[2],
  ): Promise<Record<string, unknown> | undefined> {
    for await (const key of candidates as unknown as AsyncIterable<CryptoKey>) {
      try {
        return (await jwtVerify(token, key, options)).payload;
      } catch (error) {
        if (!(error instanceof joseErrors.JWSSignatureVerificationFailed)) throw tokenRefusal(error, this.#refusal);
      }
    }
    return undefined;
  }
}
