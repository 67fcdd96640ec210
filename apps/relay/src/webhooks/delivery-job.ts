/** The BullMQ queue of webhook deliveries. */
export const DELIVERY_QUEUE = 'webhook-deliveries';

/**
 * One delivery job: a reference to an event (the tenant's stream and its offset) for an endpoint.
 * The worker reads the event when it delivers, so a job costs a few hundred bytes of Redis whatever
 * the event's size, and an event trimmed by retention before its delivery fails as such.
 */
export interface DeliveryJobData {
  tenantid: string;
  endpointId: string;
  offset: string;
  /** Standard Webhooks message id, stable across attempts, manual retries and replays. */
  webhookId: string;
  /** Set on a replay: its id, so that the job id differs from the first delivery's. */
  replay?: string;
  /** The event's JSON, in jobs queued by a relay older than references; read from the stream otherwise. */
  event?: string;
}

/** BullMQ's lowest priority (its largest number). */
const LOWEST_PRIORITY = 2_097_151;

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
  /** What the dashboard lists: `<tenant> <event type> → <endpoint host>`. */
  name: string;
  data: DeliveryJobData;
  /** `stackTraceLimit: 0`: a failed job shows its one-line reason on the dashboard, not the worker's stack and file paths. */
  opts: { jobId: string; priority: number; stackTraceLimit: 0 };
}

/** What a job's name says besides its tenant: the event's type and the endpoint's URL, where known. */
export interface JobLabel {
  eventType?: string | undefined;
  url?: string | undefined;
}

/** A job's name, for people reading the dashboard: `acme com.qlik.app.reloaded → hooks.example`. */
export function deliveryJobName(tenant: string, label: JobLabel = {}): string {
  let host = 'endpoint';
  try {
    if (label.url !== undefined) host = new URL(label.url).host;
  } catch {
    // A stored URL was checked when registered; a name is no reason to fail a job.
  }
  return `${tenant} ${label.eventType?.slice(0, 200) ?? 'event'} → ${host}`;
}

/**
 * The one builder of a delivery job, used by the dispatcher (each new matching event) and by a
 * replay (`replay` set, so that its job ids differ from the first delivery's while the webhook-id
 * stays the event's).
 *
 * `label` names the job for the dashboard (deliveryJobName).
 *
 * `backlog` is how many of the tenant's deliveries are ahead of this one (outstanding, or before it
 * in the same batch). It is the job's priority, lower first: the queue takes the first job of a
 * tenant with one delivery before the thousandth of a tenant with a thousand, so that a tenant's
 * backlog never stands in front of another tenant's new events (fair queueing across tenants).
 */
export function deliveryJob(
  tenant: string,
  endpointId: string,
  offset: string,
  backlog: number,
  replay?: string,
  label?: JobLabel,
): DeliveryJob {
  return {
    name: deliveryJobName(tenant, label),
    data: {
      tenantid: tenant,
      endpointId,
      offset,
      webhookId: webhookId(tenant, offset),
      ...(replay === undefined ? {} : { replay }),
    },
    opts: {
      jobId: deliveryJobId(endpointId, offset, replay),
      priority: Math.min(LOWEST_PRIORITY, Math.max(1, backlog + 1)),
      stackTraceLimit: 0,
    },
  };
}

/** BullMQ's key prefix: hash-tagged, as BullMQ's docs require for Redis Cluster. */
export function queuePrefix(keyPrefix: string): string {
  return `${keyPrefix}{bull}`;
}
