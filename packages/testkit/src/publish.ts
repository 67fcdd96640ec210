import assert from 'node:assert/strict';

/** What the relay answers for each accepted event (POST /v1/events, 202), in request order. */
export interface Accepted {
  id: string;
  source: string;
  offset: string;
  duplicate: boolean;
}

/** Publishes one tenant's events to a relay in batched mode; asserts the 202 and returns what was accepted. */
export async function publish(relayUrl: string, token: string, events: readonly object[]): Promise<Accepted[]> {
  const accepted = await post(relayUrl, token, 'application/cloudevents-batch+json', events);
  assert.equal(accepted.length, events.length);
  return accepted;
}

/** Publishes one event to a relay in structured mode; asserts the 202 and returns its accepted item. */
export async function publishOne(relayUrl: string, token: string, event: object): Promise<Accepted> {
  const accepted = await post(relayUrl, token, 'application/cloudevents+json', event);
  assert.equal(accepted.length, 1);
  return accepted[0]!;
}

async function post(relayUrl: string, token: string, contentType: string, body: unknown): Promise<Accepted[]> {
  const res = await fetch(`${relayUrl}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  assert.equal(res.status, 202, text);
  return (JSON.parse(text) as { accepted: Accepted[] }).accepted;
}
