import { createAdapter } from '@socket.io/redis-streams-adapter';
import { Redis } from 'ioredis';

/**
 * The peer's adapter, as its README sets it up with ioredis. Two options differ from the defaults,
 * both in the peer's favour: `onlyPlaintext` skips the binary scan of every broadcast, and `maxLen`
 * is raised from 10,000 so that a burst cannot trim entries before the receiving node has read them.
 */
export function peerAdapter(redisUrl: string) {
  const redis = new Redis(redisUrl);
  return createAdapter(redis, { maxLen: 1_000_000, onlyPlaintext: true, streamName: 'bench-sio' });
}

export const roomOf = (tenant: string) => `t:${tenant}`;
