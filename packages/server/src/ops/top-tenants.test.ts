import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OTHER_TENANTS, topTenants } from './top-tenants.ts';

test('topTenants keeps the most subscribed, sums the rest as "(other)", and breaks ties by tenant id', () => {
  const counts = new Map([
    ['c', 2],
    ['a', 3],
    ['b', 2],
    ['d', 1],
  ]);
  assert.deepEqual(topTenants(counts, 2), [
    ['a', 3],
    ['b', 2],
    [OTHER_TENANTS, 3],
  ]);
  assert.deepEqual(topTenants(counts, 4), [...counts], 'no "(other)" when every tenant fits');
  assert.deepEqual(topTenants(counts, 0), [[OTHER_TENANTS, 8]]);
  assert.deepEqual(topTenants(new Map(), 100), []);
});
