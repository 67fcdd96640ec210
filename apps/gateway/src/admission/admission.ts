import { ServiceError } from '@tenantcast/server';
import { isOriginAllowed } from './origin-policy.ts';

/** What admission needs from the gateway's configuration and storage. */
export interface AdmissionOptions {
  /** Most connections (or multiplexed subscriptions) per tenant on this gateway (GATEWAY_MAX_CONNECTIONS_PER_TENANT). */
  maxPerTenant: number;
  /** `enforce` refuses a browser whose Origin the tenant's web integrations do not list (GATEWAY_ORIGIN_POLICY). */
  originPolicy: 'off' | 'enforce';
  /** The `validOrigins` of the tenant's web integrations. */
  origins(tenant: string): Promise<readonly string[]>;
}

/**
 * Who may subscribe to a tenant on this gateway: the per-tenant connection limit and the origin
 * policy. Every plain connection and every multiplexed subscription is counted in by `admit` and
 * out by `release`, once each.
 */
export class Admission {
  readonly #options: AdmissionOptions;
  readonly #perTenant = new Map<string, number>();

  constructor(options: AdmissionOptions) {
    this.#options = options;
  }

  /** Checks the per-tenant limit and the Origin policy, then counts one subscription in. */
  async admit(tenant: string, origin: string | undefined): Promise<void> {
    await this.check(tenant, origin);
    this.#perTenant.set(tenant, (this.#perTenant.get(tenant) ?? 0) + 1);
  }

  /** Checks the per-tenant limit and the Origin policy, without counting anything in. */
  async check(tenant: string, origin: string | undefined): Promise<void> {
    const { maxPerTenant, originPolicy } = this.#options;
    if ((this.#perTenant.get(tenant) ?? 0) >= maxPerTenant) {
      throw new ServiceError(
        'TC_ERR_TOO_MANY_CONNECTIONS',
        `Tenant "${tenant}" has ${maxPerTenant} connections on this gateway already (GATEWAY_MAX_CONNECTIONS_PER_TENANT); retry later or elsewhere.`,
      );
    }
    // Browsers send Origin; other clients do not, and the policy does not apply to them.
    if (originPolicy === 'enforce' && origin !== undefined) {
      const allowed = await this.#options.origins(tenant);
      if (!isOriginAllowed(origin, allowed)) {
        throw new ServiceError(
          'TC_ERR_FORBIDDEN_ORIGIN',
          `Origin ${origin.slice(0, 200)} is not in tenant "${tenant}"'s web integrations' validOrigins; add it to a web integration.`,
        );
      }
    }
  }

  /** Counts one subscription of the tenant out. */
  release(tenant: string): void {
    const count = (this.#perTenant.get(tenant) ?? 1) - 1;
    if (count <= 0) this.#perTenant.delete(tenant);
    else this.#perTenant.set(tenant, count);
  }
}
