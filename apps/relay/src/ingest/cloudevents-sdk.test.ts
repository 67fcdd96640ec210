import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { type Accepted, uniqueTenant } from '@tenantcast/testkit';
import { CloudEvent, emitterFor, HTTP, httpTransport, Mode } from 'cloudevents';
import { eventsApi } from '../testing/events-api.ts';
import { useRelay } from '../testing/use-relay.ts';

// The official `cloudevents` SDK (v10) talks to the relay: its HTTP emitter in binary and structured
// mode, and its HTTP transport for a batch. Its transport merges `options.headers` into the request's
// headers, which is how the Authorization header travels.

const stack = useRelay();
const { history } = eventsApi(stack);

/** Events of several kinds: a known Qlik type with JSON data, text data, and binary data. */
function sampleEvents(tenantid: string): CloudEvent<unknown>[] {
  return [
    new CloudEvent<unknown>({
      id: randomUUID(),
      source: 'com.qlik/my-service',
      type: 'com.qlik.web-integration.created',
      time: '2026-01-01T12:00:00Z',
      subject: 'web-integration/id123',
      datacontenttype: 'application/json',
      tenantid,
      userid: 'UZhiEfgW2bLd7HgR-jjzAh6VnicipweT',
      data: { id: 'id123', name: 'Api client 1', validOrigins: ['http://unicorn.com', 'http://foo.example'] },
    }),
    new CloudEvent<unknown>({
      id: randomUUID(),
      source: '/tests/sdk',
      type: 'com.example.note',
      datacontenttype: 'text/plain',
      tenantid,
      data: 'héllo, wörld',
    }),
    new CloudEvent<unknown>({
      id: randomUUID(),
      source: '/tests/sdk',
      type: 'com.example.bytes',
      datacontenttype: 'application/octet-stream',
      tenantid,
      data: new Uint8Array([0x00, 0xff, 0x10, 0x80, 0x41]),
    }),
  ];
}

/** The event as the JSON event format writes it: what the relay should hand back. */
function asJson(event: CloudEvent<unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(event)) as Record<string, unknown>;
}

/** The transport resolves with `{ body, headers }` (no status): the body says whether it was accepted. */
function acceptedOf(response: unknown): Accepted[] {
  const { body } = response as { body: string };
  const parsed = JSON.parse(body) as { accepted?: Accepted[] };
  assert.ok(Array.isArray(parsed.accepted), `not accepted: ${body}`);
  return parsed.accepted;
}

/** Asserts the history holds `sent` with equal attributes and data, at the offsets the relay answered. */
async function assertReadBack(tenantid: string, sent: CloudEvent<unknown>[], offsets: string[]): Promise<void> {
  const stored = await history(tenantid);
  assert.deepEqual(
    stored.map((s) => s.offset),
    offsets,
  );
  for (const [i, { event }] of stored.entries()) {
    assert.deepEqual(event, asJson(sent[i]!));
    // The SDK reads the stored event back into an equal CloudEvent.
    const back = HTTP.toEvent({
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify(event),
    }) as CloudEvent<unknown>;
    assert.deepEqual(asJson(back), asJson(sent[i]!));
  }
}

describe('the cloudevents SDK HTTP emitter', () => {
  for (const mode of [Mode.BINARY, Mode.STRUCTURED]) {
    test(`sends events in ${mode} mode that read back equal`, async () => {
      const t = uniqueTenant(`sdk-${mode}`);
      const emit = emitterFor(httpTransport(`${stack.relay.url}/v1/events`), { mode });
      const events = sampleEvents(t);
      const offsets: string[] = [];
      for (const event of events) {
        const [item] = acceptedOf(await emit(event, { headers: { authorization: `Bearer ${stack.token}` } }));
        assert.deepEqual(item, { id: event.id, source: event.source, offset: item!.offset, duplicate: false });
        offsets.push(item!.offset);
      }
      await assertReadBack(t, events, offsets);
    });
  }

  test('a re-sent event is flagged as a duplicate and stored once', async () => {
    const t = uniqueTenant('sdk-dup');
    const emit = emitterFor(httpTransport(`${stack.relay.url}/v1/events`), { mode: Mode.BINARY });
    const [event] = sampleEvents(t);
    const options = { headers: { authorization: `Bearer ${stack.token}` } };
    const [first] = acceptedOf(await emit(event!, options));
    const [again] = acceptedOf(await emit(event!, options));
    assert.deepEqual(again, { ...first, duplicate: true });
    await assertReadBack(t, [event!], [first!.offset]);
  });

  test('without the Authorization header the relay refuses the event', async () => {
    const t = uniqueTenant('sdk-noauth');
    const emit = emitterFor(httpTransport(`${stack.relay.url}/v1/events`), { mode: Mode.STRUCTURED });
    const response = (await emit(sampleEvents(t)[0]!)) as { body: string; headers: Record<string, string> };
    assert.equal((JSON.parse(response.body) as { error: { code: string } }).error.code, 'TC_ERR_UNAUTHORIZED');
    assert.match(response.headers['www-authenticate'] ?? '', /^Bearer /);
    assert.deepEqual(await history(t), []);
  });
});

describe('a batch through the cloudevents SDK transport', () => {
  test('is accepted in order and reads back equal', async () => {
    const t = uniqueTenant('sdk-batch');
    const events = sampleEvents(t);
    const send = httpTransport(`${stack.relay.url}/v1/events`);
    // The SDK has no batch serializer; the batch is the JSON event format's array (§3.3 of the binding).
    const response = await send(
      { headers: { 'content-type': 'application/cloudevents-batch+json; charset=utf-8' }, body: JSON.stringify(events) },
      { headers: { authorization: `Bearer ${stack.token}` } },
    );
    const accepted = acceptedOf(response);
    assert.deepEqual(
      accepted.map(({ id, source, duplicate }) => ({ id, source, duplicate })),
      events.map((e) => ({ id: e.id, source: e.source, duplicate: false })),
    );
    await assertReadBack(
      t,
      events,
      accepted.map((a) => a.offset),
    );
  });
});
