import { randomUUID } from 'node:crypto';

/** A valid CloudEvent of an unregistered type (so that the relay validates its envelope only), with a random id. */
export function makeEvent(tenantid: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { specversion: '1.0', id: randomUUID(), source: '/tests', type: 'com.example.thing.happened', tenantid, ...fields };
}
