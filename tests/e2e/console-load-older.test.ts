import assert from 'node:assert/strict';
import { test } from 'node:test';
import { uniqueTenant } from '@tenantcast/testkit';
import { ApiError, type StoredEvent } from '../../apps/console/src/api.ts';
import { loadOlder } from '../../apps/console/src/events/load-older.ts';
import { publishOffsets } from '../support/events.ts';
import { useRelayStack } from '../support/stack.ts';

// The console's "Load older" pages back through a real relay's history (`before`): from nothing
// shown, then from the oldest shown, with 150 events stored within a few milliseconds (a time-window
// guess over the forward-only API could not split them).

const stack = useRelayStack();

test('"Load older" reads the latest page when nothing is shown, then the page before it, with no gap and no repeat', async () => {
  const tenant = uniqueTenant('load-older');
  const token = await stack.relay.token({ scope: 'subscribe', tenants: [tenant] });
  const offsets = await publishOffsets(
    stack.relay,
    tenant,
    Array.from({ length: 150 }, (_, n) => ({ type: 'com.example.page', data: { n } })),
  );
  const read = async (before: string, limit: number): Promise<{ events: StoredEvent[]; previous: string | null }> => {
    const res = await fetch(`${stack.relay.url}/v1/tenants/${tenant}/events?before=${encodeURIComponent(before)}&limit=${limit}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const body = (await res.json()) as { events: StoredEvent[]; previous: string | null; error?: { code: string; message: string } };
    if (!res.ok) throw new ApiError(res.status, body.error?.code ?? 'HTTP', body.error?.message ?? '');
    return body;
  };

  const latest = await loadOlder(read, undefined);
  assert.deepEqual(
    latest.events.map((e) => e.offset),
    offsets.slice(-100),
  );
  assert.equal(latest.more, true);
  const before = await loadOlder(read, latest.events[0]!.offset);
  assert.deepEqual(
    before.events.map((e) => e.offset),
    offsets.slice(0, 50),
  );
  assert.equal(before.more, false, 'nothing older');
});
