import { createServer } from 'node:http';
import { RelayClient } from '@tenantcast/sdk';
import { benchEvent } from './lib/events.ts';
const server = createServer((req, res) => { let b=''; req.on('data', c => b+=c); req.on('end', () => { const n = b.startsWith('[') ? JSON.parse(b).length : 1; res.writeHead(202, {'content-type':'application/json'}); res.end(JSON.stringify({accepted: Array.from({length:n}, (_, i) => ({id:'x'+i, source:'s', offset:'1-'+i, duplicate:false}))})); }); });
let conns=0; server.on('connection', () => conns++);
await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
const port = (server.address() as any).port;
const client = new RelayClient({ url: `http://127.0.0.1:${port}`, token: 'x' });
const mode = process.argv[2];
async function run(N: number) {
  const c0 = process.cpuUsage(); const t0 = performance.now();
  let done = 0; const lat: number[] = [];
  for (let n = 0; n < N; n++) {
    const due = t0 + n;
    const w = due - performance.now(); if (w > 0) await new Promise(r => setTimeout(r, w));
    const ev = benchEvent(`t${n%200}`, `id${n}`, n, due);
    const p = mode === 'fetch' ? fetch(`http://127.0.0.1:${port}/v1/events`, {method:'POST', headers:{authorization:'Bearer x','content-type':'application/cloudevents+json'}, body: JSON.stringify(ev)}).then(r => r.text()) : client.publish(ev as any);
    p.then(() => { lat.push(performance.now() - due); done++; });
  }
  while (done < N) await new Promise(r => setTimeout(r, 5));
  lat.sort((a,b)=>a-b); const c = process.cpuUsage(c0);
  console.log(mode, 'conns', conns, 'p50', lat[N/2|0].toFixed(2), 'p99', lat[N*0.99|0].toFixed(2), 'cpu ms/event', ((c.user+c.system)/1000/N).toFixed(3), 'wall', (performance.now()-t0).toFixed(0));
}
await run(2000); await run(3000);
server.close(); process.exit(0);
