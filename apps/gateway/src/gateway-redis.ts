import {
  closeRedis,
  connectRedis,
  createRedis,
  describeRedis,
  isCluster,
  type RedisClient,
  type RedisLogger,
  redisTarget,
} from '@tenantcast/server';
import type { GatewayConfig } from './config.ts';

/**
 * The gateway's two Redis connections: one for commands (stream reads), and one in subscriber mode
 * for the tenants' live channels, which takes a connection of its own (on a cluster, one per
 * master, for SSUBSCRIBE); ioredis subscribes again by itself after a reconnect or a failover.
 */
export class GatewayRedis {
  readonly commands: RedisClient;
  readonly subscriber: RedisClient;
  /** `sharded` (SSUBSCRIBE) on a Redis Cluster, `classic` on one Redis. */
  readonly pubsub: 'classic' | 'sharded';
  readonly #description: string;
  readonly #logger: RedisLogger;

  constructor(config: GatewayConfig, logger: RedisLogger) {
    const target = redisTarget(config);
    this.commands = createRedis(target, logger);
    this.subscriber = createRedis(target, logger, {
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      commandTimeout: undefined,
      shardedSubscriber: true,
    });
    this.pubsub = isCluster(target) ? 'sharded' : 'classic';
    this.#description = describeRedis(target);
    this.#logger = logger;
  }

  /** Whether both connections are ready. */
  get ready(): boolean {
    return this.commands.status === 'ready' && this.subscriber.status === 'ready';
  }

  /** Connects both, waiting a while for Redis; if it does not answer, upgrades are refused with 503 until it does. */
  async connect(): Promise<void> {
    const [commands, subscriptions] = await Promise.all([connectRedis(this.commands), connectRedis(this.subscriber)]);
    if (!commands || !subscriptions)
      this.#logger.warn({ redis: this.#description }, 'Redis is not reachable yet; refusing upgrades with 503 until it is');
  }

  /** Quits both. */
  quit(): Promise<unknown> {
    return Promise.all([closeRedis(this.commands), closeRedis(this.subscriber)]);
  }
}
