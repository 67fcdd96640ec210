import assert from 'node:assert/strict';
import { connect as tcpConnect } from 'node:net';
import { describe, test } from 'node:test';
import { mintToken } from '@tenantcast/sdk/tokens';
import { assertRefusal, connect, makeEvent, plainUrl, refusal, TEST_SECRET, testToken, uniqueTenant, until } from '@tenantcast/testkit';
import { useGateway } from '../testing/use-gateway.ts';

const stack = useGateway();

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Sends a raw HTTP request over a socket of its own; resolves with the status line and the whole answer. */
function rawRequest(port: number, lines: string[]): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text }));
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  });
}

describe('handshakes that are not RFC 6455’s: refused in JSON like every other refusal', () => {
  /** A raw upgrade of a plain subscription with a valid token; `change` replaces or adds lines. */
  async function handshake(change: { method?: string; version?: string; key?: string }) {
    const port = Number(new URL(stack.gateway.url).port);
    const answer = await rawRequest(port, [
      `${change.method ?? 'GET'} /v1/tenants/${uniqueTenant('raw')}/events HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      'Connection: Upgrade',
      'Upgrade: websocket',
      `Sec-WebSocket-Version: ${change.version ?? '13'}`,
      `Sec-WebSocket-Key: ${change.key ?? 'dGhlIHNhbXBsZSBub25jZQ=='}`,
      `Authorization: Bearer ${stack.token}`,
    ]);
    const [head = '', body = ''] = answer.text.split('\r\n\r\n');
    return {
      status: answer.status,
      head: head.toLowerCase(),
      error: (JSON.parse(body) as { error: { code: string; message: string } }).error,
    };
  }

  test('a WebSocket version the gateway does not speak: 400 TC_ERR_BAD_HANDSHAKE, naming the version it does', async () => {
    const refused = await handshake({ version: '12' });
    assert.equal(refused.status, 400);
    assert.match(refused.head, /content-type: application\/json/);
    assert.match(refused.head, /sec-websocket-version: 13/);
    assert.equal(refused.error.code, 'TC_ERR_BAD_HANDSHAKE');
    assert.match(refused.error.message, /Sec-WebSocket-Version/);
  });

  test('a malformed Sec-WebSocket-Key: 400 TC_ERR_BAD_HANDSHAKE', async () => {
    const refused = await handshake({ key: 'not-a-key' });
    assert.equal(refused.status, 400);
    assert.equal(refused.error.code, 'TC_ERR_BAD_HANDSHAKE');
    assert.match(refused.error.message, /Sec-WebSocket-Key/);
  });

  test('an upgrade by POST: 405 TC_ERR_METHOD_NOT_ALLOWED with Allow: GET', async () => {
    const refused = await handshake({ method: 'POST' });
    assert.equal(refused.status, 405);
    assert.match(refused.head, /allow: get/);
    assert.equal(refused.error.code, 'TC_ERR_METHOD_NOT_ALLOWED');
  });
});

describe('refused upgrades: 401', () => {
  test('no token', async () => {
    const refused = await refusal(plainUrl(stack.gateway.wsUrl, 'acme'));
    assertRefusal(refused, 401, 'TC_ERR_UNAUTHORIZED');
    assert.match(String(refused.headers['www-authenticate']), /^Bearer/);
  });

  test('an empty token in the query', async () => {
    assertRefusal(await refusal(plainUrl(stack.gateway.wsUrl, 'acme', { token: '' })), 401, 'TC_ERR_UNAUTHORIZED');
  });

  test('an Authorization header of another scheme', async () => {
    const refused = await refusal(plainUrl(stack.gateway.wsUrl, 'acme'), { headers: { authorization: `Basic ${btoa('a:b')}` } });
    assertRefusal(refused, 401, 'TC_ERR_UNAUTHORIZED');
  });

  test('a token that is not a JWT, in the header and in the query', async () => {
    assertRefusal(await refusal(plainUrl(stack.gateway.wsUrl, 'acme'), { token: 'not-a-jwt' }), 401, 'TC_ERR_TOKEN_INVALID');
    assertRefusal(await refusal(plainUrl(stack.gateway.wsUrl, 'acme', { token: 'not.a.jwt' })), 401, 'TC_ERR_TOKEN_INVALID');
  });

  test('an expired token', async () => {
    const expired = await mintToken({ sub: 't', scope: 'subscribe', tenants: ['*'], expiresIn: -60 }, TEST_SECRET);
    const refused = await refusal(plainUrl(stack.gateway.wsUrl, 'acme'), { token: expired });
    assertRefusal(refused, 401, 'TC_ERR_TOKEN_INVALID');
    assert.match(refused.body.error.message, /expired/i);
  });

  test('alg none', async () => {
    const unsigned = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub: 't', scope: 'subscribe', tenants: ['*'] })}.`;
    assertRefusal(await refusal(plainUrl(stack.gateway.wsUrl, 'acme'), { token: unsigned }), 401, 'TC_ERR_TOKEN_INVALID');
    assertRefusal(await refusal(plainUrl(stack.gateway.wsUrl, 'acme', { token: unsigned })), 401, 'TC_ERR_TOKEN_INVALID');
  });

  test('a token signed with another secret', async () => {
    const forged = await mintToken({ sub: 't', scope: 'subscribe', tenants: ['*'] }, 'another-secret-0123456789');
    const refused = await refusal(plainUrl(stack.gateway.wsUrl, 'acme'), { token: forged });
    assertRefusal(refused, 401, 'TC_ERR_TOKEN_INVALID');
    assert.match(refused.body.error.message, /signature/i);
  });

  test('multiplexed mode checks the token before the upgrade too', async () => {
    const refused = await refusal(`${stack.gateway.wsUrl}/v1/connect`, { protocols: ['tenantcast.v1'], token: 'nope' });
    assertRefusal(refused, 401, 'TC_ERR_TOKEN_INVALID');
  });
});

describe('refused upgrades: 403', () => {
  test('a token without the subscribe scope', async () => {
    const publishOnly = await testToken({ scope: 'publish', tenants: ['acme'] });
    const refused = await refusal(plainUrl(stack.gateway.wsUrl, 'acme'), { token: publishOnly });
    assertRefusal(refused, 403, 'TC_ERR_FORBIDDEN_SCOPE');
    assert.match(refused.body.error.message, /subscribe/);
  });

  test('a tenant the token does not grant, whether the token comes in the header or the query', async () => {
    const acmeOnly = await testToken({ scope: 'subscribe', tenants: ['acme'] });
    assertRefusal(await refusal(plainUrl(stack.gateway.wsUrl, 'globex'), { token: acmeOnly }), 403, 'TC_ERR_FORBIDDEN_TENANT');
    assertRefusal(await refusal(plainUrl(stack.gateway.wsUrl, 'globex', { token: acmeOnly })), 403, 'TC_ERR_FORBIDDEN_TENANT');
    // Tenant ids compare exactly: neither case nor a prefix is enough.
    assertRefusal(await refusal(plainUrl(stack.gateway.wsUrl, 'ACME'), { token: acmeOnly }), 403, 'TC_ERR_FORBIDDEN_TENANT');
    assertRefusal(await refusal(plainUrl(stack.gateway.wsUrl, 'acme2'), { token: acmeOnly }), 403, 'TC_ERR_FORBIDDEN_TENANT');
  });
});

describe('refused upgrades: 400', () => {
  for (const [label, tenant] of [
    ['a glob character', 'a*b'],
    ['braces', '{acme}'],
    ['a slash, percent-encoded', 'a/b'],
    ['a space', 'a b'],
    ['a colon', 'a:b'],
    ['129 characters', 'a'.repeat(129)],
    ['unicode', 'tenänt'],
    ['nothing (an empty id)', ''],
  ] as const) {
    test(`a tenant id with ${label}`, async () => {
      const refused = await refusal(plainUrl(stack.gateway.wsUrl, tenant), { token: stack.token });
      assertRefusal(refused, 400, 'TC_ERR_BAD_TENANT_ID');
    });
  }

  test('a malformed percent-encoding in the tenant id', async () => {
    const refused = await refusal(`${stack.gateway.wsUrl}/v1/tenants/a%E0%A4%A/events`, { token: stack.token });
    assertRefusal(refused, 400, 'TC_ERR_BAD_TENANT_ID');
  });

  test('filters that are not JSON', async () => {
    const refused = await refusal(`${plainUrl(stack.gateway.wsUrl, 'acme')}?filters=${encodeURIComponent('[{exact:')}`, {
      token: stack.token,
    });
    assertRefusal(refused, 400, 'TC_ERR_BAD_FILTER');
  });

  for (const [label, filters] of [
    ['an object instead of an array', { exact: { type: 'x' } }],
    ['the unsupported sql dialect', [{ sql: "type = 'x'" }]],
    ['an unknown dialect nested in any', [{ any: [{ exact: { type: 'x' } }, { regex: { type: '.*' } }] }]],
    ['two dialects in one filter', [{ exact: { type: 'x' }, prefix: { type: 'y' } }]],
    ['an empty value', [{ exact: { type: '' } }]],
    ['a non-string value', [{ exact: { type: 1 } }]],
    ['an attribute name with upper case', [{ prefix: { Type: 'x' } }]],
    ['an empty all', [{ all: [] }]],
  ] as const) {
    test(`filters with ${label}`, async () => {
      const refused = await refusal(plainUrl(stack.gateway.wsUrl, 'acme', { filters }), { token: stack.token });
      assertRefusal(refused, 400, 'TC_ERR_BAD_FILTER');
    });
  }

  test('the sql dialect is named in the answer, with a JSON path', async () => {
    const refused = await refusal(plainUrl(stack.gateway.wsUrl, 'acme', { filters: [{ sql: "type = 'x'" }] }), { token: stack.token });
    assertRefusal(refused, 400, 'TC_ERR_BAD_FILTER');
    assert.match(refused.text, /sql/);
    assert.ok(Array.isArray(refused.body.error.details) && refused.body.error.details.length > 0, 'details list the problems');
  });

  for (const bad of ['abc', '-1', '1-2-3', '1700000000000-', '18446744073709551616-0', ' 1-0', '0x10-0']) {
    test(`after=${JSON.stringify(bad)}`, async () => {
      const refused = await refusal(plainUrl(stack.gateway.wsUrl, 'acme', { after: bad }), { token: stack.token });
      assertRefusal(refused, 400, 'TC_ERR_BAD_OFFSET');
    });
  }

  test('only unsupported subprotocols offered', async () => {
    const refused = await refusal(plainUrl(stack.gateway.wsUrl, 'acme'), { token: stack.token, protocols: ['mqtt', 'graphql-ws'] });
    assertRefusal(refused, 400, 'TC_ERR_BAD_SUBPROTOCOL');
    assert.match(refused.body.error.message, /cloudevents\.json/);
  });

  test('the multiplexed subprotocol on the plain endpoint, and the plain one on /v1/connect', async () => {
    assertRefusal(
      await refusal(plainUrl(stack.gateway.wsUrl, 'acme'), { token: stack.token, protocols: ['tenantcast.v1'] }),
      400,
      'TC_ERR_BAD_SUBPROTOCOL',
    );
    assertRefusal(
      await refusal(`${stack.gateway.wsUrl}/v1/connect`, { token: stack.token, protocols: ['cloudevents.json'] }),
      400,
      'TC_ERR_BAD_SUBPROTOCOL',
    );
  });

  test('a query parameter given twice', async () => {
    const url = plainUrl(stack.gateway.wsUrl, 'acme');
    assertRefusal(await refusal(`${url}?after=0&after=0`, { token: stack.token }), 400, 'TC_ERR_BAD_REQUEST');
    assertRefusal(await refusal(`${url}?filters=[]&filters=[]`, { token: stack.token }), 400, 'TC_ERR_BAD_REQUEST');
    assertRefusal(await refusal(`${url}?token=${stack.token}&token=${stack.token}`), 400, 'TC_ERR_BAD_REQUEST');
  });
});

describe('refused upgrades: 404', () => {
  for (const path of ['/', '/v1/tenants/acme', '/v1/tenants/acme/events/more', '/v2/tenants/acme/events', '/v1/connect/x']) {
    test(`upgrade at ${path}`, async () => {
      assertRefusal(await refusal(`${stack.gateway.wsUrl}${path}`, { token: stack.token }), 404, 'TC_ERR_NOT_FOUND');
    });
  }

  test('a plain HTTP request gets JSON too: the upgrade’s refusal or 426 on an endpoint, 404 elsewhere', async () => {
    // The checks of the upgrade run first (probe.test.ts): without a token, its refusal.
    const anonymous = await fetch(`${stack.gateway.url}/v1/tenants/acme/events`);
    assert.equal(anonymous.status, 401);
    assert.equal(((await anonymous.json()) as { error: { code: string } }).error.code, 'TC_ERR_UNAUTHORIZED');
    const endpoint = await fetch(`${stack.gateway.url}/v1/tenants/acme/events`, { headers: { authorization: `Bearer ${stack.token}` } });
    assert.equal(endpoint.status, 426);
    assert.equal(endpoint.headers.get('upgrade'), 'websocket');
    assert.equal(((await endpoint.json()) as { error: { code: string } }).error.code, 'TC_ERR_BAD_REQUEST');
    const elsewhere = await fetch(`${stack.gateway.url}/nothing-here`);
    assert.equal(elsewhere.status, 404);
    assert.equal(((await elsewhere.json()) as { error: { code: string } }).error.code, 'TC_ERR_NOT_FOUND');
  });
});

describe('refused upgrades: 410', () => {
  test('an after whose events retention trimmed', async (t) => {
    const trimming = await stack.startWriter(t, { streamMaxLen: 10 });
    const gw = await stack.startGateway(t, { keyPrefix: trimming.keyPrefix });
    const tenant = uniqueTenant('trimmed');
    const accepted = [];
    for (let i = 0; i < 6; i++) {
      accepted.push(...(await trimming.publish(Array.from({ length: 50 }, () => makeEvent(tenant)))));
    }

    const refused = await refusal(plainUrl(gw.wsUrl, tenant, { after: accepted[0]!.offset }), { token: stack.token });
    assertRefusal(refused, 410, 'TC_ERR_OFFSET_EXPIRED');
    assert.match(refused.body.error.message, /offset 0|after=0|restart/i, 'the message says how to recover');

    // What retention kept is still served: from 0, and from the last offset.
    const fromZero = await connect(t, plainUrl(gw.wsUrl, tenant, { after: '0' }), { token: stack.token });
    const last = accepted.at(-1)!.offset;
    await fromZero.until(() => fromZero.events.some((e) => e.relayoffset === last), 'the last event');
    assert.ok(fromZero.events.length >= 10 && fromZero.events.length < accepted.length, `${fromZero.events.length} retained events`);
    await connect(t, plainUrl(gw.wsUrl, tenant, { after: last }), { token: stack.token });
  });
});

describe('refused upgrades: 409', () => {
  /** The offset just after `offset`, in the same millisecond. */
  const nextOf = (offset: string) => offset.replace(/-(\d+)$/, (_, seq: string) => `-${Number(seq) + 1}`);

  test('an after past the stream’s last offset; resuming exactly at the last offset is accepted and gets what follows', async (t) => {
    const { tenant, history } = await stack.writer.tenantWithHistory('ahead');
    for (const after of [nextOf(history.offset), '9999999999999-0', '18446744073709551615-18446744073709551615']) {
      const refused = await refusal(plainUrl(stack.gateway.wsUrl, tenant, { after }), { token: stack.token });
      assertRefusal(refused, 409, 'TC_ERR_OFFSET_AHEAD');
      assert.match(refused.body.error.message, /after=0/, 'the message says how to start again');
    }
    const atLast = await connect(t, plainUrl(stack.gateway.wsUrl, tenant, { after: history.offset }), { token: stack.token });
    const next = await stack.writer.publishOne(makeEvent(tenant, { id: 'next' }));
    await atLast.receivedId('next');
    assert.deepEqual(
      atLast.events.map((e) => e.relayoffset),
      [next.offset],
    );
  });

  test('on a tenant with no stream (never written, or lost by Redis), every after but 0 and 0-0', async (t) => {
    const tenant = uniqueTenant('no-stream');
    assertRefusal(
      await refusal(plainUrl(stack.gateway.wsUrl, tenant, { after: '1-0' }), { token: stack.token }),
      409,
      'TC_ERR_OFFSET_AHEAD',
    );
    await connect(t, plainUrl(stack.gateway.wsUrl, tenant, { after: '0-0' }), { token: stack.token });
    await connect(t, plainUrl(stack.gateway.wsUrl, tenant, { after: '0' }), { token: stack.token });
  });
});

describe('refused upgrades: 429', () => {
  test('over maxConnectionsPerTenant; another tenant is not affected; a closed connection frees its place', async (t) => {
    const limited = await stack.startGateway(t, { maxConnectionsPerTenant: 2 });
    const tenant = uniqueTenant('crowded');
    const first = await connect(t, plainUrl(limited.wsUrl, tenant), { token: stack.token });
    await connect(t, plainUrl(limited.wsUrl, tenant), { token: stack.token });

    const refused = await refusal(plainUrl(limited.wsUrl, tenant), { token: stack.token });
    assertRefusal(refused, 429, 'TC_ERR_TOO_MANY_CONNECTIONS');
    await connect(t, plainUrl(limited.wsUrl, uniqueTenant('other')), { token: stack.token });

    first.ws.close();
    await first.closedWith();
    // The server counts the close once its side of the handshake is done: retry for a bounded time.
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        await connect(t, plainUrl(limited.wsUrl, tenant), { token: stack.token });
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });

  test('an upgrade that ws itself refuses after the gateway admitted it does not keep its place', async (t) => {
    const limited = await stack.startGateway(t, { maxConnectionsPerTenant: 2 });
    const tenant = uniqueTenant('leak');
    const port = Number(new URL(limited.url).port);
    for (let i = 0; i < 3; i++) {
      // A valid path, token and subprotocol; a WebSocket version ws does not speak.
      const answer = await rawRequest(port, [
        `GET /v1/tenants/${tenant}/events HTTP/1.1`,
        `Host: 127.0.0.1:${port}`,
        'Connection: Upgrade',
        'Upgrade: websocket',
        'Sec-WebSocket-Version: 12',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Protocol: cloudevents.json',
        `Authorization: Bearer ${stack.token}`,
      ]);
      assert.equal(answer.status, 400, answer.text);
    }
    await until(
      async () => {
        try {
          await connect(t, plainUrl(limited.wsUrl, tenant), { token: stack.token });
          return true;
        } catch {
          return false;
        }
      },
      'a connection to be admitted',
      3000,
    );
    await connect(t, plainUrl(limited.wsUrl, tenant), { token: stack.token });
  });

  test('an upgrade whose client resets the connection while the gateway checks it does not keep its place', async (t) => {
    const limited = await stack.startGateway(t, { maxConnectionsPerTenant: 2 });
    const tenant = uniqueTenant('gone');
    const port = Number(new URL(limited.url).port);
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve) => {
        const socket = tcpConnect(port, '127.0.0.1', () => {
          socket.write(
            [
              `GET /v1/tenants/${tenant}/events HTTP/1.1`,
              `Host: 127.0.0.1:${port}`,
              'Connection: Upgrade',
              'Upgrade: websocket',
              'Sec-WebSocket-Version: 13',
              'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
              `Authorization: Bearer ${stack.token}`,
              '',
              '',
            ].join('\r\n'),
            // Reset before the gateway has verified the token and read the stream.
            () => socket.resetAndDestroy(),
          );
        });
        socket.on('error', () => {});
        socket.on('close', () => resolve());
      });
    }
    // The gateway finishes its checks of the abandoned upgrades within moments; then both places are free.
    await until(
      async () => {
        try {
          await connect(t, plainUrl(limited.wsUrl, tenant), { token: stack.token });
          return true;
        } catch {
          return false;
        }
      },
      'a connection to be admitted',
      3000,
    );
    await connect(t, plainUrl(limited.wsUrl, tenant), { token: stack.token });
  });
});
