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

/** A delivery job as BullMQ's `add`/`addBulk` take it. */
export interface DeliveryJob {
  name: 'deliver';
  data: DeliveryJobData;
  opts: { jobId: string };
}

/**
 * The one builder of a delivery job, used by the dispatcher (each new matching event) and by a
 * replay (`replay` set, so that its job ids differ from the first delivery's while the webhook-id
 * stays the event's).
 */
export function deliveryJob(tenant: string, endpointId: string, offset: string, event: string, replay?: string): DeliveryJob {
  return {
    name: 'deliver',
    data: {
      tenantid: tenant,
      endpointId,
      offset,
      webhookId: webhookId(tenant, offset),
      event,
      ...(replay === undefined ? {} : { replay }),
    },
    opts: { jobId: deliveryJobId(endpointId, offset, replay) },
  };
}

/** BullMQ's key prefix: hash-tagged, as BullMQ's docs require for Redis Cluster. */
export function queuePrefix(keyPrefix: string): string {
  return `${keyPrefix}{bull}`;
}
