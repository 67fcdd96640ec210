import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { compareOffsets } from './offsets.ts';

/** The obvious reference: parse both parts as BigInts. */
function reference(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  const ms = BigInt(am) - BigInt(bm);
  if (ms !== 0n) return ms > 0n ? 1 : -1;
  const seq = BigInt(as) - BigInt(bs);
  return seq === 0n ? 0 : seq > 0n ? 1 : -1;
}

const part = fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String), fc.stringMatching(/^0{0,3}\d{1,20}$/));
const offset = fc.oneof(
  fc.tuple(part, part).map(([ms, seq]) => `${ms}-${seq}`),
  part,
);

test('compareOffsets orders numerically, as parsing would, leading zeros and all', () => {
  fc.assert(fc.property(offset, offset, (a, b) => compareOffsets(a, b) === reference(a, b)));
  assert.ok(compareOffsets('9-0', '10-0') < 0);
  assert.ok(compareOffsets('10-2', '10-10') < 0);
  assert.equal(compareOffsets('007-1', '7-1'), 0);
  assert.equal(compareOffsets('5', '5-0'), 0);
});
