import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CloudEvent } from '@tenantcast/sdk';
import { originsChange } from './web-integration-origins.ts';

const event = (type: string, data: unknown): CloudEvent => ({ specversion: '1.0', id: '1', source: 's', tenantid: 't', type, data });

test('created events set the integration’s validOrigins, in both type families', () => {
  for (const type of ['com.qlik.web-integration.created', 'com.qlik.core.web-integration.created']) {
    assert.deepEqual(originsChange(event(type, { id: 'wi', name: 'n', validOrigins: ['https://a.example'] })), {
      integration: 'wi',
      origins: ['https://a.example'],
    });
  }
});

test('updated events set origins from validOrigins, or from an update of property validOrigins', () => {
  const type = 'com.qlik.web-integration.updated';
  assert.deepEqual(originsChange(event(type, { id: 'wi', updates: [], validOrigins: ['x.example'] }))?.origins, ['x.example']);
  assert.deepEqual(
    originsChange(event(type, { id: 'wi', updates: [{ property: 'validOrigins', newValue: '["https://n.example"]' }] }))?.origins,
    ['https://n.example'],
  );
  assert.deepEqual(
    originsChange(event(type, { id: 'wi', updates: [{ property: 'validOrigins', newValue: 'a.example, https://b.example' }] }))?.origins,
    ['a.example', 'https://b.example'],
  );
  // The last update of the property wins.
  assert.deepEqual(
    originsChange(
      event(type, {
        id: 'wi',
        updates: [
          { property: 'validOrigins', newValue: '["old.example"]' },
          { property: 'validOrigins', newValue: '["new.example"]' },
        ],
      }),
    )?.origins,
    ['new.example'],
  );
  assert.equal(originsChange(event(type, { id: 'wi', updates: [{ property: 'name', oldValue: 'a', newValue: 'b' }] })), undefined);
});

test('deleted events drop the integration; other events change nothing', () => {
  assert.deepEqual(originsChange(event('com.qlik.web-integration.deleted', { id: 'wi' })), { integration: 'wi', origins: null });
  assert.equal(originsChange(event('com.example.other', { id: 'wi', validOrigins: ['x'] })), undefined);
  assert.equal(originsChange(event('com.qlik.web-integration.created', undefined)), undefined);
});
