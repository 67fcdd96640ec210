import { topTenants } from '@tenantcast/server';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** The gateway's Prometheus metrics, on a registry of its own. */
export interface GatewayMetrics {
  registry: Registry;
  connections: Gauge;
  connectionsOpened: Counter;
  tokenRefreshes: Counter<'outcome'>;
  subscriptions: Gauge<'tenant'>;
  tenants: Gauge;
  messagesOut: Counter;
  slowConsumers: Counter;
  upgradesRefused: Counter<'code'>;
  connectionsDropped: Counter;
  fanoutSeconds: Histogram;
}

/**
 * Creates the gateway's metrics; `tenants` reports subscriptions per tenant at scrape time, of which
 * the `maxTenants` largest get a series of their own and the rest one `(other)` series (the metrics
 * listener is apart from the public one, and its series stay bounded in number).
 */
export function createGatewayMetrics(tenants: () => Map<string, number>, connections: () => number, maxTenants: number): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tenantcast_gateway_' });
  return {
    registry,
    connections: new Gauge({
      name: 'tenantcast_gateway_connections',
      help: 'Open WebSocket connections.',
      registers: [registry],
      collect() {
        this.set(connections());
      },
    }),
    connectionsOpened: new Counter({
      name: 'tenantcast_gateway_connections_opened_total',
      help: 'WebSocket connections accepted (upgrades that got their 101): with the connections gauge, how often clients reconnect.',
      registers: [registry],
    }),
    tokenRefreshes: new Counter({
      name: 'tenantcast_gateway_token_refreshes_total',
      help: 'Token refreshes of multiplexed connections, by outcome: refreshed, or the error code the connection was closed for.',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    subscriptions: new Gauge({
      name: 'tenantcast_gateway_subscriptions',
      help: `Subscriptions per tenant on this gateway: the ${maxTenants} tenants with the most (GATEWAY_METRICS_MAX_TENANTS), the others summed as tenant="(other)".`,
      labelNames: ['tenant'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [tenant, count] of topTenants(tenants(), maxTenants)) this.set({ tenant }, count);
      },
    }),
    tenants: new Gauge({
      name: 'tenantcast_gateway_tenants',
      help: 'Tenants with at least one subscription on this gateway.',
      registers: [registry],
      collect() {
        this.set(tenants().size);
      },
    }),
    messagesOut: new Counter({
      name: 'tenantcast_gateway_messages_out_total',
      help: 'Event messages sent to clients.',
      registers: [registry],
    }),
    slowConsumers: new Counter({
      name: 'tenantcast_gateway_slow_consumers_total',
      help: 'Connections closed with 4008 because their send buffer overflowed.',
      registers: [registry],
    }),
    upgradesRefused: new Counter({
      name: 'tenantcast_gateway_upgrades_refused_total',
      help: 'Upgrades refused before the 101, by error code.',
      labelNames: ['code'],
      registers: [registry],
    }),
    connectionsDropped: new Counter({
      name: 'tenantcast_gateway_connections_dropped_total',
      help: 'Connections closed on arrival because GATEWAY_MAX_CONNECTIONS were open.',
      registers: [registry],
    }),
    fanoutSeconds: new Histogram({
      name: 'tenantcast_gateway_fanout_duration_seconds',
      help: 'Time from a live notification reaching the gateway to its last client send.',
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers: [registry],
    }),
  };
}
