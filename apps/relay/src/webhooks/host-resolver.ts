import type { LookupAddress } from 'node:dns';
import { Resolver } from 'node:dns/promises';

export interface HostResolverOptions {
  /** DNS servers (`ip` or `ip:port`); default the system's (/etc/resolv.conf). */
  servers?: readonly string[];
  /** How long one query may take, in ms, before the name counts as unresolvable for this attempt. */
  timeoutMs: number;
  /** Names kept; the oldest goes first. Default 1,000. */
  cacheSize?: number;
}

/** Longest time an answer is reused, whatever its TTL, in seconds. */
const MAX_TTL_S = 60;

/** An answer about a name that could not be resolved. */
export class HostNotResolved extends Error {
  override readonly name = 'HostNotResolved';
}

/**
 * Resolves webhook host names by talking DNS itself (c-ares, through `dns.promises.Resolver`), not
 * with `dns.lookup`, which runs getaddrinfo on libuv's thread pool of 4: a few names that resolve
 * slowly used to hold every thread, and with them every tenant's deliveries (and the process's
 * file reads). Each query has a timeout; answers are cached for their TTL (at most a minute) so a
 * burst to one endpoint costs one query. Names in /etc/hosts are not read, except `localhost`,
 * which resolves to loopback (RFC 6761) and is then refused unless private addresses are allowed.
 */
export class HostResolver {
  readonly #resolver: Resolver;
  readonly #cacheSize: number;
  readonly #cache = new Map<string, { addresses: LookupAddress[]; expires: number }>();
  readonly #inFlight = new Map<string, Promise<LookupAddress[]>>();

  constructor(options: HostResolverOptions) {
    this.#resolver = new Resolver({ timeout: options.timeoutMs, tries: 1 });
    if (options.servers !== undefined && options.servers.length > 0) this.#resolver.setServers([...options.servers]);
    this.#cacheSize = options.cacheSize ?? 1000;
  }

  /** Every address of `hostname`, IPv4 first; throws HostNotResolved when it has none or DNS did not answer in time. */
  async resolve(hostname: string): Promise<LookupAddress[]> {
    const name = hostname.toLowerCase();
    if (name === 'localhost' || name.endsWith('.localhost')) {
      return [
        { address: '127.0.0.1', family: 4 },
        { address: '::1', family: 6 },
      ];
    }
    const cached = this.#cache.get(name);
    if (cached !== undefined && cached.expires > Date.now()) return cached.addresses;
    // Concurrent deliveries to one name share one query.
    let pending = this.#inFlight.get(name);
    if (pending === undefined) {
      pending = this.#query(name).finally(() => this.#inFlight.delete(name));
      this.#inFlight.set(name, pending);
    }
    return pending;
  }

  async #query(name: string): Promise<LookupAddress[]> {
    const [v4, v6] = await Promise.allSettled([this.#resolver.resolve4(name, { ttl: true }), this.#resolver.resolve6(name, { ttl: true })]);
    const records = [
      ...(v4.status === 'fulfilled' ? v4.value.map((r) => ({ ...r, family: 4 })) : []),
      ...(v6.status === 'fulfilled' ? v6.value.map((r) => ({ ...r, family: 6 })) : []),
    ];
    if (records.length === 0) {
      const reason = v4.status === 'rejected' ? (v4.reason as NodeJS.ErrnoException) : undefined;
      throw new HostNotResolved(`${name} did not resolve: ${reason?.code ?? 'no A or AAAA records'}`);
    }
    const ttl = Math.min(MAX_TTL_S, ...records.map((r) => r.ttl));
    const addresses = records.map(({ address, family }) => ({ address, family }));
    if (ttl > 0) {
      if (this.#cache.size >= this.#cacheSize) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(name, { addresses, expires: Date.now() + ttl * 1000 });
    }
    return addresses;
  }
}
