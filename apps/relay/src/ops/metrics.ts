import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** The relay's Prometheus metrics, on a registry of its own so that several relays can share a process. */
export interface RelayMetrics {
  registry: Registry;
  eventsStored: Counter<'result'>;
  requestsRejected: Counter<'code'>;
  /** Connections closed on arrival because `RELAY_MAX_CONNECTIONS` were open. */
  connectionsDropped: Counter;
  ingestSeconds: Histogram<'mode'>;
  redisUp: Gauge;
  deliveries: Counter<'result'>;
  /** Endpoints whose circuit opened (they kept failing, and their deliveries wait for a cooldown). */
  circuitsOpened: Counter;
  deliverySeconds: Histogram;
  /** Where the queue depth gauge reads from; set once the delivery queue exists. */
  queueDepth: { source?: () => Promise<Record<string, number>> };
}

/** Creates the relay's metrics, with Node's default process metrics. */
export function createRelayMetrics(): RelayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tenantcast_relay_' });
  const queueDepth: RelayMetrics['queueDepth'] = {};
  new Gauge({
    name: 'tenantcast_relay_delivery_queue_depth',
    help: 'Delivery jobs by state: waiting and prioritized (queued), active, delayed (retrying, or parked until a slot of their tenant frees), failed (kept for the dashboard).',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      if (queueDepth.source === undefined) return;
      try {
        for (const [state, count] of Object.entries(await queueDepth.source())) this.set({ state }, count);
      } catch {
        // Redis down: the gauge keeps its last values; tenantcast_relay_redis_up says why.
      }
    },
  });
  return {
    registry,
    eventsStored: new Counter({
      name: 'tenantcast_relay_events_total',
      help: 'Events accepted, by result: stored (new) or duplicate (stored before).',
      labelNames: ['result'],
      registers: [registry],
    }),
    requestsRejected: new Counter({
      name: 'tenantcast_relay_requests_rejected_total',
      help: 'Requests answered with an error, by error code.',
      labelNames: ['code'],
      registers: [registry],
    }),
    connectionsDropped: new Counter({
      name: 'tenantcast_relay_connections_dropped_total',
      help: 'Connections closed on arrival because RELAY_MAX_CONNECTIONS were open.',
      registers: [registry],
    }),
    ingestSeconds: new Histogram({
      name: 'tenantcast_relay_ingest_duration_seconds',
      help: 'Time from request to 202, by mode: single or batch.',
      labelNames: ['mode'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    redisUp: new Gauge({ name: 'tenantcast_relay_redis_up', help: '1 when Redis answers, 0 when not.', registers: [registry] }),
    circuitsOpened: new Counter({
      name: 'tenantcast_relay_delivery_circuits_opened_total',
      help: 'Times an endpoint kept failing (WEBHOOK_CIRCUIT_FAILURES in a row) and its deliveries were left to wait for a cooldown.',
      registers: [registry],
    }),
    deliveries: new Counter({
      name: 'tenantcast_relay_deliveries_total',
      help: 'Webhook delivery attempts by result: succeeded, retrying (will be retried), failed (for good), expired (its event was trimmed before it could be delivered).',
      labelNames: ['result'],
      registers: [registry],
    }),
    deliverySeconds: new Histogram({
      name: 'tenantcast_relay_delivery_duration_seconds',
      help: 'Time of one webhook delivery attempt, request to response.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
      registers: [registry],
    }),
    queueDepth,
  };
}
