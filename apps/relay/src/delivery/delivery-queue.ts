/** The BullMQ queue of webhook deliveries. */
export const DELIVERY_QUEUE = 'webhook-deliveries';

/** One delivery job: an event for an endpoint. */
export interface DeliveryJobData {
  tenantid: string;
  endpointId: string;
  offset: string;
  /** Standard Webhooks message id, stable across attempts, manual retries and replays. */
  webhookId: string;
  /** The event, structured-mode JSON, as stored. */
  event: string;
  /** Set on a replay: its id, so that the job id differs from the first delivery's. */
  replay?: string;
}

/**
 * The job id: derived from the endpoint and the event, so that dispatching the same entry twice
 * (after a crash before XACK) adds no second job.
 */
export function deliveryJobId(endpointId: string, offset: string, replay?: string): string {
  return replay === undefined ? `${endpointId}_${offset}` : `${endpointId}_${offset}_${replay}`;
}

/** The Standard Webhooks message id of an event. */
export function webhookId(tenant: string, offset: string): string {
  return `msg_${tenant}_${offset}`;
}

/** BullMQ's key prefix: hash-tagged, as BullMQ's docs require for Redis Cluster. */
export function queuePrefix(keyPrefix: string): string {
  return `${keyPrefix}{bull}`;
}
