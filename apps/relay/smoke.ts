import { startRedisServer, startRelay } from '@tenantcast/testkit';

const redis = await startRedisServer();
const r = await startRelay(redis.url);
const token = await r.token({});
const ev = {
  specversion: '1.0',
  id: 'A1',
  source: 'com.qlik/x',
  type: 'com.qlik.web-integration.deleted',
  tenantid: 'acme',
  data: { id: 'w1' },
};
const post = (body: string, ct: string, extra: Record<string, string> = {}) =>
  fetch(`${r.url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': ct, ...extra }, body });
for (const [b, ct, extra] of [
  [JSON.stringify(ev), 'application/cloudevents+json'],
  [JSON.stringify(ev), 'Application/CloudEvents+JSON; charset=UTF-8'],
  [JSON.stringify([ev, { ...ev, id: 'A2' }]), 'application/cloudevents-batch+json'],
  [
    '{"id":"w2"}',
    'application/json',
    { 'ce-specversion': '1.0', 'ce-id': 'B1', 'ce-source': 'x%20y', 'ce-type': 'com.qlik.web-integration.deleted', 'ce-tenantid': 'acme' },
  ],
  ['{}', 'text/plain'],
  ['{bad', 'application/cloudevents+json'],
  [JSON.stringify({ ...ev, data: {} }), 'application/cloudevents+json'],
  [JSON.stringify([ev, { ...ev, tenantid: 'other' }]), 'application/cloudevents-batch+json'],
  ['', 'application/json'],
] as Array<[string, string, Record<string, string>?]>) {
  const res = await post(b, ct, extra);
  console.log(res.status, await res.text());
}
const h = await fetch(`${r.url}/v1/tenants/acme/events?limit=2`, { headers: { authorization: `Bearer ${token}` } });
console.log(h.status, await h.text());
const big = await post(JSON.stringify({ ...ev, id: 'big', data: { id: 'x'.repeat(2_000_000) } }), 'application/cloudevents+json');
console.log(big.status, await big.text());
const noauth = await fetch(`${r.url}/v1/events`, { method: 'POST' });
console.log(noauth.status, await noauth.text());
const nf = await fetch(`${r.url}/nope`);
console.log(nf.status, await nf.text());
console.log((await fetch(`${r.url}/readyz`)).status);
await redis.kill();
const down = await post(JSON.stringify({ ...ev, id: 'down' }), 'application/cloudevents+json');
console.log('down', down.status, down.headers.get('retry-after'), await down.text());
console.log((await fetch(`${r.url}/readyz`)).status);
await redis.restart();
await new Promise((r) => setTimeout(r, 2500));
const up = await post(JSON.stringify({ ...ev, id: 'up' }), 'application/cloudevents+json');
console.log('up', up.status, await up.text());
await r.close();
await redis.stop();
