import type { Subscriber } from '../fanout/subscriber.ts';

/** What a session (plain or multiplexed) needs from the gateway: admission, the stream's end, the fan-out. */
export interface SessionHost {
  /** Checks the Origin policy and the per-tenant limit, and counts the subscription in. */
  admit(tenant: string, origin: string | undefined): Promise<void>;
  /** Counts a subscription out. */
  release(tenant: string): void;
  /**
   * Where a subscription starts (fanout/resume.ts `startOffset`): after `after`, once checked
   * (TC_ERR_OFFSET_EXPIRED, TC_ERR_OFFSET_AHEAD), or at the stream's last offset without one.
   */
  start(tenant: string, after: string | undefined): Promise<string>;
  subscribe(tenant: string, subscriber: Subscriber): Promise<void>;
  unsubscribe(tenant: string, subscriber: Subscriber): void;
  /** An unexpected failure of a subscription, to log. */
  onError(error: unknown): void;
}
