import { TenantcastError } from '@tenantcast/sdk';
import { type TokenClaims, type VerifyTokenOptions, verifyToken } from '@tenantcast/sdk/tokens';
import { decodeProtectedHeader } from 'jose';

/**
 * Where a verifier's keys come from: an HS256 secret (`hs256Keys`), the JWKS of identity providers
 * (`JwksKeys`), or both, chosen by the token's algorithm (`keysByAlgorithm`).
 */
export interface KeySource {
  /**
   * Verifies the token's signature and claims, with the claim checks `checks` asks for (issuer,
   * audience, a required `exp`: jose's `jwtVerify` options); throws a `TenantcastError`
   * (TC_ERR_TOKEN_INVALID) that says what is wrong.
   */
  verify(token: string, checks: VerifyTokenOptions): Promise<TokenClaims>;
  /** Moves when the keys change (a JWKS fetched anew), so that claims cached before are verified again. Absent: keys never change. */
  readonly generation?: number;
  /** Starts fetching stale keys again in the background; called on every verification, cache hits included. */
  refreshIfDue?(): void;
}

/**
 * The key source of HS256 tokens signed with `secret` (its UTF-8 bytes), as `mintToken` makes them,
 * and, when given, with `previous` (TENANTCAST_SECRET_PREVIOUS): accepted for verification only, so
 * that a secret is rotated without a flag day (new tokens are signed with `secret`; those signed with
 * the old one keep working until they expire or `previous` is removed). A token is checked against
 * `previous` only when its signature does not verify with `secret`.
 */
export function hs256Keys(secret: string, previous?: string): KeySource {
  return {
    async verify(token, checks) {
      try {
        return await verifyToken(token, secret, checks);
      } catch (error) {
        if (previous === undefined || !signatureFailed(error)) throw error;
        return verifyToken(token, previous, checks);
      }
    },
  };
}

/** Whether a refusal came from the signature (jose's JWSSignatureVerificationFailed), not from a claim. */
function signatureFailed(error: unknown): boolean {
  return ((error as { cause?: { code?: unknown } }).cause?.code ?? '') === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED';
}

function invalid(message: string): TenantcastError {
  return new TenantcastError('TC_ERR_TOKEN_INVALID', message, { status: 401 });
}

/**
 * Chooses the key source by the token's `alg` header: HS256 goes to the secret, an algorithm of
 * `jwks.algorithms` to the identity providers' keys; nothing else is tried. So an HS256 token is never
 * checked against a JWKS key (an attacker cannot sign with a public key's bytes as an HMAC secret),
 * and `alg: none` never passes. Each source checks the algorithm again (jose's `algorithms`).
 */
export function keysByAlgorithm(secret: KeySource, jwks?: { keys: KeySource; algorithms: readonly string[] }): KeySource {
  const accepted = ['HS256', ...(jwks?.algorithms ?? [])].join(', ');
  return {
    get generation() {
      return jwks?.keys.generation;
    },
    refreshIfDue() {
      jwks?.keys.refreshIfDue?.();
    },
    verify(token, checks) {
      let alg: unknown;
      try {
        alg = decodeProtectedHeader(token).alg;
      } catch {
        throw invalid('Token is not a valid JWT; send a signed JWT as "Authorization: Bearer <token>".');
      }
      if (alg === 'HS256') return secret.verify(token, checks);
      if (jwks !== undefined && typeof alg === 'string' && jwks.algorithms.includes(alg)) return jwks.keys.verify(token, checks);
      const hint = jwks === undefined ? ' (set AUTH_JWKS_URLS to accept tokens of an identity provider)' : ' (AUTH_ALGORITHMS)';
      throw invalid(`Token algorithm "${String(alg)}" not allowed; this server accepts ${accepted}${hint}.`);
    },
  };
}
