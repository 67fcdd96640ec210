import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { type AddressInfo, isIP } from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import { sleep } from '@tenantcast/testkit';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { startDnsServer } from '../testing/dns-server.ts';
import { startRelayWithRedis } from '../testing/use-relay.ts';
import { deliver } from './deliver.ts';
import { HostResolver } from './host-resolver.ts';
import { addressClass, createAddressGuard, interfaceAddresses, isPrivateAddress, PrivateAddressError, safeLookup } from './ssrf-guard.ts';

// No SSRF: webhooks may not reach loopback, private or link-local addresses, checked after DNS
// resolution, unless WEBHOOK_ALLOW_PRIVATE=true.

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** The system's DNS, with a short timeout: this machine may have none, and `localhost` needs none. */
const resolver = new HostResolver({ timeoutMs: 1000 });

/** A receiver on 127.0.0.1 that answers 204 and records what it got; closed when the test ends. */
async function startReceiver(
  t: TestContext,
  host = '127.0.0.1',
): Promise<{ port: number; got: Array<{ headers: IncomingHttpHeaders; body: string }> }> {
  const got: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as AddressInfo).port, got };
}

describe('isPrivateAddress', () => {
  test('IPv4: loopback, private, link-local, CGNAT, multicast and reserved ranges are private', () => {
    for (const address of [
      '127.0.0.1',
      '127.255.255.254',
      '0.0.0.0',
      '0.1.2.3',
      '10.0.0.1',
      '10.255.255.255',
      '100.64.0.1',
      '100.127.255.255',
      '169.254.169.254',
      '172.16.0.1',
      '172.31.255.255',
      '192.0.0.8',
      '192.168.1.1',
      '198.18.0.1',
      '198.19.255.255',
      '224.0.0.1',
      '239.255.255.250',
      '240.0.0.1',
      '255.255.255.255',
    ]) {
      assert.equal(isPrivateAddress(address), true, address);
    }
  });

  test('IPv4: public addresses, including the neighbours of private ranges, are not', () => {
    for (const address of [
      '8.8.8.8',
      '1.1.1.1',
      '9.255.255.255',
      '11.0.0.0',
      '100.63.255.255',
      '100.128.0.0',
      '126.255.255.255',
      '128.0.0.0',
      '169.253.255.255',
      '169.255.0.0',
      '172.15.255.255',
      '172.32.0.0',
      '192.167.255.255',
      '192.169.0.0',
      '198.17.255.255',
      '198.20.0.0',
      '223.255.255.255',
    ]) {
      assert.equal(isPrivateAddress(address), false, address);
    }
  });

  test('IPv6: unspecified, loopback, unique-local, link-local and multicast are private; global unicast is not', () => {
    for (const address of [
      '::',
      '::1',
      '0:0:0:0:0:0:0:1',
      'fc00::1',
      'fd12:3456:789a::1',
      'fe80::1',
      'fe80::1234:5678',
      'febf::1',
      'ff02::1',
      'FF05::2',
    ]) {
      assert.equal(isPrivateAddress(address), true, address);
    }
    for (const address of ['2001:4860:4860::8888', '2606:4700:4700::1111', '2a00:1450:4001::200e']) {
      assert.equal(isPrivateAddress(address), false, address);
    }
  });

  test('IPv4-mapped IPv6 is judged by the IPv4 address it maps, in dotted and in hex form', () => {
    for (const address of [
      '::ffff:127.0.0.1',
      '::FFFF:127.0.0.1',
      '::ffff:10.0.0.1',
      '::ffff:169.254.169.254',
      '::ffff:192.168.0.1',
      '::ffff:7f00:1',
      '::ffff:a00:1',
      '0:0:0:0:0:ffff:7f00:1',
      '::ffff:a9fe:a9fe',
    ]) {
      assert.equal(isPrivateAddress(address), true, address);
    }
    for (const address of ['::ffff:8.8.8.8', '::ffff:808:808', '::ffff:1.1.1.1']) {
      assert.equal(isPrivateAddress(address), false, address);
    }
  });

  test('what is not an IP address is refused', () => {
    for (const value of ['', 'localhost', 'example.com', '127.0.0.1.nip.io', '256.0.0.1', '::ffff:999.0.0.1', '1.2.3']) {
      assert.equal(isPrivateAddress(value), true, value);
    }
  });
});

describe('safeLookup', () => {
  const lookup = (allowPrivate: boolean, host: string, all = false) =>
    new Promise<{ error: NodeJS.ErrnoException | null; address: unknown; family: number | undefined }>((resolve) =>
      safeLookup(allowPrivate, resolver)(host, { all }, (error, address, family) => resolve({ error, address, family })),
    );

  test('refuses a name that resolves to loopback, saying how to allow it', async () => {
    const { error } = await lookup(false, 'localhost');
    assert.ok(error instanceof PrivateAddressError, String(error));
    assert.match(error.message, /localhost resolves to .*a private address.*WEBHOOK_ALLOW_PRIVATE=true/);
  });

  test('resolves it when private addresses are allowed, in both callback shapes', async () => {
    const one = await lookup(true, 'localhost');
    assert.equal(one.error, null);
    assert.ok(one.address === '127.0.0.1' || one.address === '::1', String(one.address));
    assert.ok(one.family === 4 || one.family === 6);
    const all = await lookup(true, 'localhost', true);
    assert.equal(all.error, null);
    assert.ok(Array.isArray(all.address) && all.address.length > 0);
  });

  test('passes DNS errors through', async () => {
    const { error } = await lookup(true, 'does-not-exist.invalid');
    assert.ok(error !== null && !(error instanceof PrivateAddressError));
  });
});

describe('deliver() with allowPrivate false', () => {
  const request = (url: string, allowPrivate = false) => ({
    url,
    secrets: [SECRET],
    webhookId: 'msg_ssrf_1-0',
    body: JSON.stringify({ specversion: '1.0', id: '1', source: 'ssrf', type: 'com.example.x', tenantid: 'ssrf' }),
    timeoutMs: 2000,
    allowPrivate,
    resolver,
  });

  test('refuses a host name that resolves to loopback: status 0, permanent, and nothing reaches the receiver', async (t) => {
    const receiver = await startReceiver(t);
    const result = await deliver(request(`http://localhost:${receiver.port}/hook`));
    assert.equal(result.status, 0);
    assert.equal(result.permanent, true);
    assert.match(result.snippet, /localhost resolves to .*private address/);
    await sleep(100);
    assert.equal(receiver.got.length, 0);
  });

  test('refuses literal private addresses without connecting', async (t) => {
    const receiver = await startReceiver(t);
    for (const url of [
      `http://127.0.0.1:${receiver.port}/`,
      `http://[::ffff:127.0.0.1]:${receiver.port}/`,
      `http://0x7f000001:${receiver.port}/`,
      `http://[::1]:${receiver.port}/`,
      'http://169.254.169.254/latest/meta-data/',
      'http://10.0.0.1/',
    ]) {
      const result = await deliver(request(url));
      assert.equal(result.status, 0, url);
      assert.equal(result.permanent, true, url);
      assert.match(result.snippet, /private address/, url);
    }
    await sleep(100);
    assert.equal(receiver.got.length, 0);
  });

  test('an unparsable URL is a permanent failure', async () => {
    const result = await deliver(request('not a url'));
    assert.equal(result.status, 0);
    assert.equal(result.permanent, true);
  });

  test('a refused connection is a failure that may be retried', async () => {
    const result = await deliver(request('http://127.0.0.1:1/', true));
    assert.equal(result.status, 0);
    assert.notEqual(result.permanent, true);
    assert.match(result.snippet, /ECONNREFUSED/);
  });

  test('with allowPrivate true the same URL is delivered, signed', async (t) => {
    const receiver = await startReceiver(t);
    const req = request(`http://localhost:${receiver.port}/hook`, true);
    const result = await deliver(req);
    assert.equal(result.status, 204);
    assert.equal(receiver.got.length, 1);
    const [got] = receiver.got;
    assert.equal(got!.body, req.body);
    assert.equal(got!.headers['webhook-id'], 'msg_ssrf_1-0');
    assert.match(String(got!.headers['content-type']), /^application\/cloudevents\+json/);
    new Webhook(SECRET).verify(got!.body, got!.headers as Record<string, string>);
  });
});

describe('a relay with webhookAllowPrivate false', () => {
  test('refuses the delivery to a name that resolves to loopback, for good, and the receiver gets nothing', async (t) => {
    // A name other than `localhost` (which the API refuses by name), resolved by a DNS server of the test's own.
    const name = 'loopback.tenantcast.test';
    const dns = await startDnsServer({ [name]: ['127.0.0.1'] });
    t.after(() => dns.close());
    const receiver = await startReceiver(t);
    const { relay, close } = await startRelayWithRedis({
      webhookAllowPrivate: false,
      webhookRetrySchedule: [50, 100, 100],
      webhookDnsServers: [dns.address],
    });
    t.after(close);
    const tenant = 'ssrf';
    const admin = await relay.token({ scope: 'admin', tenants: [tenant] });
    // `localhost` itself is refused at registration; another name for loopback is not (the API does
    // not resolve names), so the refusal after DNS resolution is what stops it.
    const refused = await fetch(`${relay.url}/v1/tenants/${tenant}/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: `http://localhost:${receiver.port}/hook` }),
    });
    assert.equal(refused.status, 400);
    const created = await fetch(`${relay.url}/v1/tenants/${tenant}/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: `http://${name}:${receiver.port}/hook` }),
    });
    assert.equal(created.status, 201, await created.clone().text());

    const publisher = await relay.token({ scope: 'publish', tenants: [tenant] });
    const res = await fetch(`${relay.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${publisher}`, 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({ specversion: '1.0', id: 'e1', source: 'ssrf', type: 'com.example.x', tenantid: tenant }),
    });
    assert.equal(res.status, 202);

    // The job fails at once (no retries: the address cannot change its nature), with the reason for the dashboard.
    const root = await relay.token({ scope: 'admin', tenants: ['*'] });
    let failed: Array<{ failedReason: string; attempts: number }> = [];
    const deadline = Date.now() + 10_000;
    while (failed.length === 0 && Date.now() < deadline) {
      await sleep(50);
      const board: Response = await fetch(
        `${relay.url}/admin/queues/api/queues?activeQueue=webhook-deliveries&status=failed&page=1&jobsPerPage=50`,
        {
          headers: { authorization: `Bearer ${root}` },
        },
      );
      assert.equal(board.status, 200);
      const body = (await board.json()) as { queues: Array<{ name: string; jobs: Array<{ failedReason: string; attempts: number }> }> };
      failed = body.queues.find((q) => q.name === 'webhook-deliveries')?.jobs ?? [];
    }
    assert.equal(failed.length, 1, 'the delivery failed');
    assert.match(failed[0]!.failedReason, /resolves to 127\.0\.0\.1, a private address/);
    assert.equal(failed[0]!.attempts, 1, 'it was not retried');
    await sleep(400);
    assert.equal(receiver.got.length, 0);
  });
});

// Issue #16, finding 5: only global unicast may be reached, by classification (ipaddr.js and
// 2000::/3), with the IPv4 address inside IPv6 forms decoded, and never the host's own addresses.

/** Every address or range the finding named, with what it is. */
const FINDING: Array<[address: string, what: RegExp]> = [
  ['192.0.2.1', /reserved/], // TEST-NET-1, RFC 5737
  ['198.51.100.7', /reserved/], // TEST-NET-2
  ['203.0.113.200', /reserved/], // TEST-NET-3
  ['192.88.99.1', /reserved/], // 6to4 relay anycast, RFC 7526
  ['64:ff9b::a9fe:a9fe', /NAT64 of 169\.254\.169\.254, linkLocal/], // RFC 6052, the metadata service
  ['64:ff9b::169.254.169.254', /NAT64 of 169\.254\.169\.254, linkLocal/],
  ['64:ff9b:1::a9fe:a9fe', /local-use NAT64/], // RFC 8215
  ['fec0::1', /deprecatedSiteLocal/], // RFC 3879
  ['::169.254.169.254', /IPv4-compatible .*169\.254\.169\.254/], // RFC 4291 §2.5.5.1
  ['::a9fe:a9fe', /IPv4-compatible .*169\.254\.169\.254/],
  ['2002:c000:0201::1', /6to4 .*192\.0\.2\.1/], // RFC 3056
  ['2002:0808:0808::1', /6to4 .*8\.8\.8\.8/],
  ['2001::1', /teredo/], // RFC 4380
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', /teredo/],
  ['100::1', /discard/], // RFC 6666
  ['100::ffff:ffff:ffff:ffff', /discard/],
  ['2001:db8::1', /reserved/], // documentation, RFC 3849
  ['2001:db8:ffff::1', /reserved/],
];

describe('special-purpose addresses the finding named are refused', () => {
  for (const [address, what] of FINDING) {
    test(`${address} (${what.source})`, () => {
      assert.equal(isPrivateAddress(address), true);
      assert.match(addressClass(address), what);
    });
  }
});

/** The forms an IPv4 address takes inside IPv6. */
function embeddings(v4: string): Record<string, string> {
  const [a, b, c, d] = v4.split('.').map(Number) as [number, number, number, number];
  const hi = ((a << 8) | b).toString(16);
  const lo = ((c << 8) | d).toString(16);
  return {
    mapped: `::ffff:${v4}`,
    'mapped, hex': `::ffff:${hi}:${lo}`,
    compatible: `::${v4}`,
    'NAT64 /96': `64:ff9b::${v4}`,
    'local-use NAT64': `64:ff9b:1::${v4}`,
    '6to4': `2002:${hi}:${lo}::1`,
  };
}

describe('IPv6 forms of an IPv4 address are classified by the embedded address', () => {
  for (const [form, address] of Object.entries(embeddings('10.1.2.3'))) {
    test(`${form} of a private address (${address}) is refused, naming it`, () => {
      assert.equal(isPrivateAddress(address), true);
      assert.match(addressClass(address), /10\.1\.2\.3.*private/);
    });
  }
  // Mapped and NAT64 /96 reach the IPv4 address itself: a public one may be reached. Compatible,
  // 6to4 (deprecated tunnels) and local-use NAT64 (undecodable for sure) are refused whatever they carry.
  const publicVerdict: Record<string, boolean> = {
    mapped: false,
    'mapped, hex': false,
    compatible: true,
    'NAT64 /96': false,
    'local-use NAT64': true,
    '6to4': true,
  };
  for (const [form, address] of Object.entries(embeddings('8.8.8.8'))) {
    test(`${form} of a public address (${address}) is ${publicVerdict[form] ? 'refused, naming it' : 'allowed'}`, () => {
      assert.equal(isPrivateAddress(address), publicVerdict[form]);
      assert.match(addressClass(address), publicVerdict[form] ? /8\.8\.8\.8/ : /^unicast$/);
    });
  }
});

describe('the classifier allows global unicast (no connection is made)', () => {
  for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '2001:4860:4860::8888', '2a00:1450:4001::200e']) {
    test(address, () => {
      assert.equal(addressClass(address), 'unicast');
      assert.equal(isPrivateAddress(address), false);
    });
  }
  test('an IPv6 address outside 2000::/3 is refused even where the library has no name for it', () => {
    for (const address of ['4000::1', '100:0:0:1::1', '::1:2:3:4']) {
      assert.match(addressClass(address), /global unicast|IPv4-compatible/, address);
      assert.equal(isPrivateAddress(address), true, address);
    }
  });
});

describe("the host's own addresses", () => {
  test('a guard refuses the addresses it was given as its own, in every spelling, and nothing else', () => {
    const guard = createAddressGuard(['8.8.8.8', '2606:4700:4700::1111']);
    for (const address of ['8.8.8.8', '::ffff:8.8.8.8', '::ffff:808:808', '64:ff9b::8.8.8.8', '2606:4700:4700:0:0:0:0:1111']) {
      assert.equal(guard.isPrivateAddress(address), true, address);
      assert.match(guard.classify(address), /an address of this host/, address);
    }
    assert.equal(guard.isPrivateAddress('1.1.1.1'), false);
  });

  const own = interfaceAddresses().find((a) => isIP(a) === 4 && !a.startsWith('127.'));
  test("deliver() refuses this host's non-loopback interface address; WEBHOOK_ALLOW_PRIVATE=true reaches it", {
    skip: own === undefined ? 'this machine has no non-loopback IPv4 interface address' : false,
  }, async (t) => {
    const receiver = await startReceiver(t, own);
    const url = `http://${own}:${receiver.port}/hook`;
    assert.equal(isPrivateAddress(own!), true);
    const refused = await deliver(deliveryRequest(url));
    assert.equal(refused.status, 0);
    assert.equal(refused.permanent, true);
    assert.match(refused.snippet, /private address/);
    await sleep(100);
    assert.equal(receiver.got.length, 0);
    const allowed = await deliver(deliveryRequest(url, true));
    assert.equal(allowed.status, 204);
    assert.equal(receiver.got.length, 1);
  });
});

/** A delivery request for `url`, signed with the test secret. */
function deliveryRequest(url: string, allowPrivate = false) {
  return {
    url,
    secrets: [SECRET],
    webhookId: 'msg_ssrf_2-0',
    body: JSON.stringify({ specversion: '1.0', id: '2', source: 'ssrf', type: 'com.example.x', tenantid: 'ssrf' }),
    timeoutMs: 1000,
    allowPrivate,
    resolver,
  };
}

describe('deliver() refuses the finding’s literal addresses before connecting', () => {
  for (const [address] of FINDING) {
    const host = isIP(address) === 6 ? `[${address}]` : address;
    test(`http://${host}:1/`, async () => {
      const result = await deliver(deliveryRequest(`http://${host}:1/`));
      assert.equal(result.status, 0);
      assert.equal(result.permanent, true);
      assert.match(result.snippet, /is a private address/);
    });
  }
  test('WEBHOOK_ALLOW_PRIVATE=true lets them through to the network (which refuses or cannot route them here)', async () => {
    for (const url of ['http://[64:ff9b::7f00:1]:1/', 'http://[::ffff:127.0.0.1]:1/', 'http://192.0.2.1:1/']) {
      const result = await deliver({ ...deliveryRequest(url, true), timeoutMs: 300 });
      assert.equal(result.status, 0, url);
      assert.notEqual(result.permanent, true, url);
      assert.doesNotMatch(result.snippet, /private address/, url);
    }
  });
});

/** The IANA IPv4 special-purpose registry's blocks, and multicast; written out here to check the library against. */
const SPECIAL_V4: Array<[network: number, prefix: number]> = (
  [
    ['0.0.0.0', 8],
    ['10.0.0.0', 8],
    ['100.64.0.0', 10],
    ['127.0.0.0', 8],
    ['169.254.0.0', 16],
    ['172.16.0.0', 12],
    ['192.0.0.0', 24],
    ['192.0.2.0', 24],
    ['192.31.196.0', 24],
    ['192.52.193.0', 24],
    ['192.88.99.0', 24],
    ['192.168.0.0', 16],
    ['192.175.48.0', 24],
    ['198.18.0.0', 15],
    ['198.51.100.0', 24],
    ['203.0.113.0', 24],
    ['224.0.0.0', 4],
    ['240.0.0.0', 4],
  ] as const
).map(([network, prefix]) => [network.split('.').reduce((n, o) => n * 256 + Number(o), 0), prefix]);

const dotted = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

describe('property', () => {
  test('any IPv4 address in a special-purpose block is refused, in any IPv6 form', () => {
    const special = fc
      .tuple(fc.constantFrom(...SPECIAL_V4), fc.integer({ min: 0, max: 2 ** 32 - 1 }))
      .map(([[network, prefix], host]) => dotted(network + (prefix === 0 ? host : host % 2 ** (32 - prefix))));
    fc.assert(
      fc.property(special, (v4) => {
        assert.equal(isPrivateAddress(v4), true, v4);
        for (const address of Object.values(embeddings(v4))) assert.equal(isPrivateAddress(address), true, address);
      }),
    );
  });

  test('mapped and NAT64 /96 forms get the verdict of the IPv4 address they carry', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (n) => {
        const v4 = dotted(n);
        const forms = embeddings(v4);
        for (const form of ['mapped', 'mapped, hex', 'NAT64 /96'] as const)
          assert.equal(isPrivateAddress(forms[form]!), isPrivateAddress(v4), forms[form]);
      }),
    );
  });
});
