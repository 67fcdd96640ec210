import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** The gateway's Prometheus metrics, on a registry of its own. */
export interface GatewayMetrics {
  registry: Registry;
  connections: Gauge;
  subscriptions: Gauge<'tenant'>;
  messagesOut: Counter;
  slowConsumers: Counter;
  upgradesRefused: Counter<'code'>;
  fanoutSeconds: Histogram;
}

/** Creates the gateway's metrics; `tenants` reports subscriptions per tenant at scrape time. */
export function createGatewayMetrics(tenants: () => Map<string, number>, connections: () => number): GatewayMetrics {
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
    subscriptions: new Gauge({
      name: 'tenantcast_gateway_subscriptions',
      help: 'Subscriptions per tenant on this gateway.',
      labelNames: ['tenant'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [tenant, count] of tenants()) this.set({ tenant }, count);
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
    fanoutSeconds: new Histogram({
      name: 'tenantcast_gateway_fanout_duration_seconds',
      help: 'Time from a live notification reaching the gateway to its last client send.',
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers: [registry],
    }),
  };
}
