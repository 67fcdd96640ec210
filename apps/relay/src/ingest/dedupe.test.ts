import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeEvent, uniqueTenant } from '@tenantcast/testkit';
import { eventsApi, expectAccepted } from '../testing/events-api.ts';
import { useRelay } from '../testing/use-relay.ts';

// Dedupe at POST /v1/events: an event sent again (same source and id, same tenant) is stored once.

const stack = useRelay();
const { post, postStructured, postBatch, history } = eventsApi(stack);

describe('dedupe by (source, id)', () => {
  test('flags a duplicate with the first copy offset and stores it once', async () => {
    const t = uniqueTenant('dup');
    const first = makeEvent(t, { data: { copy: 1 } });
    const [one] = await expectAccepted(await postStructured(first), 1);
    const [two] = await expectAccepted(await postStructured({ ...first, data: { copy: 2 } }), 1);
    assert.deepEqual(two, { id: first.id, source: first.source, offset: one!.offset, duplicate: true });
    assert.deepEqual(await history(t), [{ offset: one!.offset, event: first }]);
  });

  test('flags a duplicate inside one batch, and one sent again in another mode', async () => {
    const t = uniqueTenant('dup-batch');
    const a = makeEvent(t);
    const b = makeEvent(t);
    const accepted = await expectAccepted(await postBatch([a, b, { ...a, data: 'again' }]), 3);
    assert.deepEqual(
      accepted.map((x) => x.duplicate),
      [false, false, true],
    );
    assert.equal(accepted[2]!.offset, accepted[0]!.offset);
    const headers = { 'ce-specversion': '1.0', 'ce-id': b.id as string, 'ce-source': b.source as string, 'ce-type': 'x', 'ce-tenantid': t };
    const [binary] = await expectAccepted(await post('"late"', { ...headers, 'content-type': 'application/json' }), 1);
    assert.deepEqual(binary, { id: b.id, source: b.source, offset: accepted[1]!.offset, duplicate: true });
    assert.deepEqual(await history(t), [
      { offset: accepted[0]!.offset, event: a },
      { offset: accepted[1]!.offset, event: b },
    ]);
  });

  test('does not take the same id from another source for a duplicate', async () => {
    const t = uniqueTenant('dup-source');
    const a = makeEvent(t, { id: 'shared-id', source: '/source/a' });
    const b = makeEvent(t, { id: 'shared-id', source: '/source/b' });
    const [one] = await expectAccepted(await postStructured(a), 1);
    const [two] = await expectAccepted(await postStructured(b), 1);
    assert.equal(two!.duplicate, false);
    assert.notEqual(two!.offset, one!.offset);
    assert.deepEqual(
      (await history(t)).map((e) => e.event),
      [a, b],
    );
  });

  test('does not take the same source and id in another tenant for a duplicate', async () => {
    const t1 = uniqueTenant('dup-tenant-a');
    const t2 = uniqueTenant('dup-tenant-b');
    const a = makeEvent(t1, { id: 'same-id', source: '/same' });
    const b = { ...a, tenantid: t2 };
    const [one] = await expectAccepted(await postStructured(a), 1);
    const [two] = await expectAccepted(await postStructured(b), 1);
    assert.equal(one!.duplicate, false);
    assert.equal(two!.duplicate, false);
    assert.deepEqual(await history(t1), [{ offset: one!.offset, event: a }]);
    assert.deepEqual(await history(t2), [{ offset: two!.offset, event: b }]);
  });

  /**
   * Posts two events whose (source, id) differ and asserts that the second is not dropped as a
   * duplicate of the first. The CloudEvents type system forbids control characters and lone
   * surrogates in a String, so a 400 for either is right; accepting both is right too, if both are kept.
   */
  async function assertNotMerged(first: Record<string, string>, second: Record<string, string>): Promise<void> {
    const t = uniqueTenant('dup-collision');
    const one = await postStructured(makeEvent(t, first));
    if (one.status === 400) return;
    await expectAccepted(one, 1);
    const two = await postStructured(makeEvent(t, second));
    if (two.status === 400) return;
    const [item] = await expectAccepted(two, 1);
    assert.equal(item!.duplicate, false, `${JSON.stringify(second)} was taken for a duplicate of ${JSON.stringify(first)}`);
    assert.equal((await history(t)).length, 2);
  }

  test('does not merge ("a\\0b", "c") with ("a", "b\\0c")', () =>
    assertNotMerged({ source: 'a\u0000b', id: 'c' }, { source: 'a', id: 'b\u0000c' }));

  test('does not merge an id holding a lone surrogate with one holding U+FFFD', () =>
    assertNotMerged({ source: '/s', id: '\ud800' }, { source: '/s', id: '\ufffd' }));
});
