import type { LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import ipaddr from 'ipaddr.js';
import type { HostResolver } from './host-resolver.ts';

/**
 * What a webhook may reach: global unicast addresses only. An address is classified by ipaddr.js,
 * whose `range()` names every special-purpose block of the IANA IPv4 and IPv6 special-purpose
 * registries and answers `unicast` for the rest; IPv6 must also lie in 2000::/3, the only block IANA
 * allocates as global unicast (IANA IPv6 address space registry), which leaves out ::/96
 * (IPv4-compatible), 100:0:0:1::/64, 5f00::/16, fec0::/10 and whatever IANA has not allocated yet.
 */
export interface AddressGuard {
  /** `unicast` when a webhook may reach `address`; otherwise what it is, for the refusal message. */
  classify(address: string): string;
  /** Whether `address` is anything but a global unicast address other than this host's own. */
  isPrivateAddress(address: string): boolean;
}

/** The word `classify` answers for an address a webhook may reach. */
export const GLOBAL_UNICAST = 'unicast';

const globalUnicastV6 = ipaddr.IPv6.parseCIDR('2000::/3');
const nat64 = ipaddr.IPv6.parseCIDR('64:ff9b::/96');
const nat64LocalUse = ipaddr.IPv6.parseCIDR('64:ff9b:1::/48');
const sixToFour = ipaddr.IPv6.parseCIDR('2002::/16');

/** The IPv4 address in the last 32 bits of an IPv6 address (RFC 6052 §2.2 with a /96 prefix; RFC 4291 §2.5.5). */
function low32(address: ipaddr.IPv6): ipaddr.IPv4 {
  const p = address.parts;
  return new ipaddr.IPv4([p[6]! >> 8, p[6]! & 0xff, p[7]! >> 8, p[7]! & 0xff]);
}

/**
 * `address` (valid IPv6) in hex groups, zone id left out. ipaddr.js reads `::a.b.c.d` as
 * `::ffff:a.b.c.d`, which is not what the socket connects to; the WHATWG URL serializer writes the
 * same bytes without a dotted quad (URL Standard, IPv6 serializer), so ipaddr.js gets it right.
 */
function hexIPv6(address: string): string {
  return new URL(`http://[${address.split('%', 1)[0]}]/`).hostname.slice(1, -1);
}

/** A key that is the same for every spelling of an address, zone ids left out. */
function key(address: ipaddr.IPv4 | ipaddr.IPv6): string {
  return address.toByteArray().join('.');
}

/** Every address of this host's network interfaces, loopback included. */
export function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}

/**
 * A guard that refuses anything but global unicast, and the host's own `ownAddresses` (read once,
 * here, not per delivery: a relay's own public address would otherwise reach its own ports).
 */
export function createAddressGuard(ownAddresses: Iterable<string> = interfaceAddresses()): AddressGuard {
  const own = new Set<string>();
  for (const address of ownAddresses) {
    const family = isIP(address);
    if (family === 4) own.add(key(ipaddr.IPv4.parse(address)));
    else if (family === 6) own.add(key(ipaddr.IPv6.parse(hexIPv6(address))));
  }

  const classifyV4 = (address: ipaddr.IPv4): string => {
    const range = address.range();
    return range === GLOBAL_UNICAST && own.has(key(address)) ? 'an address of this host' : range;
  };

  const classifyV6 = (address: ipaddr.IPv6): string => {
    // IPv4-mapped (RFC 4291 §2.5.5.2): the socket connects to the IPv4 address itself, so that decides.
    if (address.isIPv4MappedAddress()) {
      const v4 = address.toIPv4Address();
      const what = classifyV4(v4);
      return what === GLOBAL_UNICAST ? what : `IPv4-mapped ${v4.toString()}, ${what}`;
    }
    // NAT64 well-known prefix (RFC 6052 §2.1): the translator connects to the embedded IPv4 address.
    // Judged by it rather than refused, so that an IPv6-only host behind DNS64 still reaches
    // IPv4-only receivers; RFC 6052 §3.1 forbids the prefix for non-global IPv4 anyway.
    if (address.match(nat64)) {
      const v4 = low32(address);
      const what = classifyV4(v4);
      return what === GLOBAL_UNICAST ? what : `NAT64 of ${v4.toString()}, ${what}`;
    }
    // Local-use NAT64 (RFC 8215): the operator picks where the IPv4 address sits (RFC 6052 §2.2),
    // so it cannot be decoded with certainty; refused.
    if (address.match(nat64LocalUse)) {
      const v4 = low32(address);
      return `local-use NAT64 (RFC 8215), of ${v4.toString()} if a /96, ${classifyV4(v4)}`;
    }
    // 6to4 (RFC 3056, deprecated by RFC 7526) goes through relays to the embedded IPv4 address, and
    // IPv4-compatible (::a.b.c.d, deprecated by RFC 4291 §2.5.5.1) through an automatic tunnel: no
    // receiver needs either, so both are refused whatever they embed; the reason names it.
    if (address.match(sixToFour)) {
      const p = address.parts;
      const v4 = new ipaddr.IPv4([p[1]! >> 8, p[1]! & 0xff, p[2]! >> 8, p[2]! & 0xff]);
      return `6to4 (deprecated) of ${v4.toString()}, ${classifyV4(v4)}`;
    }
    const range = address.range();
    if (range === 'unicast' && address.parts.slice(0, 6).every((part) => part === 0)) {
      return `IPv4-compatible (deprecated) of ${low32(address).toString()}, ${classifyV4(low32(address))}`;
    }
    if (range !== 'unicast') return range;
    if (!address.match(globalUnicastV6)) return 'outside global unicast (2000::/3)';
    return own.has(key(address)) ? 'an address of this host' : GLOBAL_UNICAST;
  };

  const classify = (address: string): string => {
    const family = isIP(address);
    if (family === 0) return 'not an IP address';
    if (family === 4) return classifyV4(ipaddr.IPv4.parse(address));
    return classifyV6(ipaddr.IPv6.parse(hexIPv6(address)));
  };

  return { classify, isPrivateAddress: (address) => classify(address) !== GLOBAL_UNICAST };
}

/** The guard deliveries use, with this host's interface addresses as they were when the relay loaded it. */
const guard = createAddressGuard();

/** What `address` is, `unicast` when a webhook may reach it (see {@link createAddressGuard}). */
export function addressClass(address: string): string {
  return guard.classify(address);
}

/** Whether `address` is anything but a global unicast address (loopback, private, documentation, NAT64 of those, this host's own…). */
export function isPrivateAddress(address: string): boolean {
  return guard.isPrivateAddress(address);
}

/** Thrown when a webhook URL resolves to an address it may not reach. */
export class PrivateAddressError extends Error {
  override readonly name = 'PrivateAddressError';
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http.request that refuses private addresses after DNS resolution, at connect time,
 * so that a name cannot resolve to a public address when checked and a private one when used.
 * Names are resolved by `resolver` (DNS queries with a timeout, off libuv's thread pool); every
 * address is checked, not only the one connected to.
 */
export function safeLookup(allowPrivate: boolean, resolver: HostResolver) {
  return (hostname: string, options: { all?: boolean; family?: number }, callback: LookupCallback): void => {
    resolver.resolve(hostname).then(
      (addresses) => {
        const list = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
        const bad = list.find((a) => isPrivateAddress(a.address));
        if (bad !== undefined && !allowPrivate) {
          return callback(
            new PrivateAddressError(
              `${hostname} resolves to ${bad.address}, a private address (${addressClass(bad.address)}); webhooks may not reach it (set WEBHOOK_ALLOW_PRIVATE=true for local development).`,
            ),
            [],
          );
        }
        if (list.length === 0)
          return callback(Object.assign(new Error(`${hostname} has no IPv${options.family} address`), { code: 'ENOTFOUND' }), []);
        if (options.all) callback(null, list);
        else callback(null, list[0]!.address, list[0]!.family);
      },
      (error: Error) => callback(error, []),
    );
  };
}
