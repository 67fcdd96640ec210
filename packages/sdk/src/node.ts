/** Node-only helpers of the SDK (they import Node built-ins, so they stay out of the browser-safe entry). */
export { createNodeFetch, type NodeFetchOptions } from './publish/node-fetch.ts';
