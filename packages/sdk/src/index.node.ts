// The SDK's root entry in Node (the `node` export condition): the browser-safe root, and a
// RelayClient that publishes over `node:http` unless given a `fetch` of its own. Node's global fetch
// (undici) spends about five times the CPU per small POST (BENCHMARKS.md, latency: the SDK
// publisher's p99 at 1,000 events/s fell from 28 ms to 9 ms with it).
import { createNodeFetch } from './publish/node-fetch.ts';
import { setDefaultFetch } from './publish/relay-client.ts';

export * from './index.ts';

let shared: typeof fetch | undefined;
setDefaultFetch(() => {
  shared ??= createNodeFetch();
  return shared;
});
