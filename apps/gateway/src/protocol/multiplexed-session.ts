import type { EventPredicate, TokenClaims } from '@tenantcast/sdk';
import { CloseCode, isTenantId } from '@tenantcast/sdk';
import { requireTenant, type ServerErrorCode, ServiceError, type TokenVerifier, toServiceError } from '@tenantcast/server';
import type { Entry } from '../fanout/entry.ts';
import { parseAfter } from '../fanout/resume.ts';
import type { Subscriber } from '../fanout/subscriber.ts';
import { compileFilter } from '../upgrade/parse-upgrade.ts';
import type { Connection } from './connection.ts';
import type { SessionHost } from './session-host.ts';
import { TokenLifetime } from './token-expiry.ts';
import { checkRefresh } from './token-refresh.ts';

interface ActiveSubscription {
  tenant: string;
  subscriber: MultiplexedSubscriber;
}

/**
 * One subscription of a multiplexed connection, as its tenant's hub sees it: events go out as
 * `{"op":"event","id":…,"event":…}` messages, framed once per event and subscription id (`Entry.muxWire`).
 */
class MultiplexedSubscriber implements Subscriber {
  last: string;
  /** Unsubscribed: the hub drops it. */
  ended = false;
  readonly #session: MultiplexedSession;
  readonly #connection: Connection;
  readonly #id: string;
  /** The start of each event message, up to the event. */
  readonly #prefix: string;
  readonly #predicate: EventPredicate | undefined;

  constructor(session: MultiplexedSession, connection: Connection, id: string, start: string, predicate: EventPredicate | undefined) {
    this.last = start;
    this.#session = session;
    this.#connection = connection;
    this.#id = id;
    this.#prefix = `{"op":"event","id":${JSON.stringify(id)},"event":`;
    this.#predicate = predicate;
  }

  matches(entry: Entry): boolean {
    return this.#predicate === undefined || this.#predicate(entry.event);
  }

  send(entry: Entry, alone?: boolean): void {
    this.#connection.sendFrame(entry.muxWire(this.#prefix), alone);
  }

  get closed(): boolean {
    return this.ended || this.#connection.closed;
  }

  drain(): Promise<void> {
    return this.#connection.drain();
  }

  close(code: number, reason: string): void {
    // An offset the stream cannot serve on from ends this subscription alone; anything else ends the connection.
    const ends = SUBSCRIPTION_ENDS[code];
    if (ends !== undefined) this.#session.ended(this.#id, this, ends, reason);
    else this.#connection.close(code, reason);
  }
}

/** The close codes a hub ends a single subscription with, and the error message's code for each (docs/protocol.md). */
const SUBSCRIPTION_ENDS: Readonly<Partial<Record<number, ServerErrorCode>>> = {
  [CloseCode.OffsetExpired]: 'TC_ERR_OFFSET_EXPIRED',
  [CloseCode.OffsetAhead]: 'TC_ERR_OFFSET_AHEAD',
};

const SUBSCRIPTION_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Refreshes one connection may have waiting; a client sends one at a time (docs/protocol.md). */
const MAX_QUEUED_REFRESHES = 8;

/** What a multiplexed session is configured with. */
export interface MultiplexedOptions {
  /** Subscriptions one connection may hold. */
  maxSubscriptions: number;
  /** The gateway's one verifier, which refresh tokens go through as upgrade tokens do. */
  tokens: Pick<TokenVerifier, 'verify'>;
  /** How long before `exp` the client is sent `expiring` (token-expiry.ts `warningTime`). */
  warningSeconds: number;
  /** Counts a refresh: `refreshed`, or the refusal's error code. */
  onRefresh(outcome: string): void;
}

/**
 * Multiplexed mode (`tenantcast.v1`, docs/protocol.md): several subscriptions on one connection,
 * each with its own tenant, filters and resume point. Client messages are JSON objects with an `op`;
 * a message that is not valid closes the connection with 4000. The connection's token may be
 * refreshed in place (`refresh`); it is warned of shortly before it expires (`expiring`), and closed
 * with 4001 when it does.
 */
export class MultiplexedSession {
  readonly #connection: Connection;
  /** The claims of the connection's token: the upgrade's, then each accepted refresh's. */
  #claims: TokenClaims;
  readonly #origin: string | undefined;
  readonly #host: SessionHost;
  readonly #options: MultiplexedOptions;
  readonly #lifetime: TokenLifetime;
  readonly #subscriptions = new Map<string, ActiveSubscription>();
  /** Ids of subscribes still being checked (token, origin, limits). */
  readonly #pending = new Set<string>();
  /** Refreshes are applied one at a time, in the order they came. */
  #refreshes: Promise<void> = Promise.resolve();
  /** Refreshes received and not applied yet: bounded, so that a flood of them queues no unbounded work. */
  #queuedRefreshes = 0;

  constructor(connection: Connection, claims: TokenClaims, origin: string | undefined, host: SessionHost, options: MultiplexedOptions) {
    this.#connection = connection;
    this.#claims = claims;
    this.#origin = origin;
    this.#host = host;
    this.#options = options;
    this.#lifetime = new TokenLifetime(() => connection.close(CloseCode.TokenExpired, 'token expired: reconnect with a fresh token'), {
      seconds: options.warningSeconds,
      onWarning: (exp) => this.#reply({ op: 'expiring', exp, in: Math.max(0, Math.floor(exp - Date.now() / 1000)) }),
    });
    this.#lifetime.watch(claims.exp);
  }

  /** Handles one client frame. */
  onMessage(data: Buffer, isBinary: boolean): void {
    let message: { op?: unknown; id?: unknown; tenantid?: unknown; filters?: unknown; after?: unknown; token?: unknown };
    try {
      if (isBinary) throw new Error('binary');
      message = JSON.parse(data.toString('utf8'));
      if (message === null || typeof message !== 'object') throw new Error('not an object');
    } catch {
      this.#connection.close(CloseCode.BadMessage, 'send JSON text messages of tenantcast.v1 (docs/protocol.md)');
      return;
    }
    if (message.op === 'refresh') {
      this.#refresh(message.token);
      return;
    }
    const id = message.id;
    if (typeof id !== 'string' || !SUBSCRIPTION_ID.test(id)) {
      this.#connection.close(CloseCode.BadMessage, '"id" must be 1-64 characters of A-Z a-z 0-9 . _ : -');
      return;
    }
    if (message.op === 'subscribe') void this.#subscribe(id, message);
    else if (message.op === 'unsubscribe') this.#unsubscribe(id, true);
    else this.#connection.close(CloseCode.BadMessage, '"op" must be "subscribe", "unsubscribe" or "refresh"');
  }

  /** Ends every subscription and stops watching the token: the connection closed. */
  closeAll(): void {
    this.#lifetime.cancel();
    for (const id of [...this.#subscriptions.keys()]) this.#unsubscribe(id, false);
  }

  /**
   * A subscription's hub cannot serve it on (retention trimmed events before they were delivered, or
   * Redis lost events it had handed out): the subscription ends with an error message.
   */
  ended(id: string, subscriber: Subscriber, code: ServerErrorCode, reason: string): void {
    if (this.#subscriptions.get(id)?.subscriber !== subscriber) return;
    this.#fail(id, new ServiceError(code, `Subscription "${id}": ${reason}.`));
    this.#unsubscribe(id, false);
  }

  /** Replies go through the same queue as events, so that they keep their order on the wire. */
  #reply(message: Record<string, unknown>): void {
    this.#connection.sendText(JSON.stringify(message));
  }

  #fail(id: string, error: ServiceError): void {
    this.#reply({
      op: 'error',
      id,
      code: error.code,
      message: error.message,
      ...(error.details.length > 0 ? { details: error.details } : {}),
    });
  }

  async #subscribe(id: string, message: { tenantid?: unknown; filters?: unknown; after?: unknown }): Promise<void> {
    // The id is taken before the first await, so that a second subscribe with it, sent at once, is refused.
    if (this.#subscriptions.has(id) || this.#pending.has(id)) {
      this.#fail(id, new ServiceError('TC_ERR_BAD_REQUEST', `Subscription "${id}" exists already; unsubscribe first, or use another id.`));
      return;
    }
    if (this.#subscriptions.size + this.#pending.size >= this.#options.maxSubscriptions) {
      this.#fail(
        id,
        new ServiceError(
          'TC_ERR_TOO_MANY_CONNECTIONS',
          `A connection holds at most ${this.#options.maxSubscriptions} subscriptions; open another connection.`,
        ),
      );
      return;
    }
    this.#pending.add(id);
    let admitted: string | undefined;
    let registered = false;
    try {
      const tenant = message.tenantid;
      if (typeof tenant !== 'string' || !isTenantId(tenant)) {
        throw new ServiceError('TC_ERR_BAD_TENANT_ID', '"tenantid" must match ^[A-Za-z0-9._-]{1,128}$.');
      }
      requireTenant(this.#claims, tenant);
      const predicate: EventPredicate | undefined = message.filters === undefined ? undefined : compileFilter(message.filters);
      if (message.after !== undefined && typeof message.after !== 'string') {
        throw new ServiceError('TC_ERR_BAD_OFFSET', '"after" must be a string offset.');
      }
      const after = parseAfter(message.after as string | undefined);
      await this.#host.admit(tenant, this.#origin);
      admitted = tenant;
      // The offset is checked before the reply, so that one the stream cannot serve is refused instead.
      const start = await this.#host.start(tenant, after);
      // The connection may have closed, or the client unsubscribed, while we waited.
      if (this.#connection.closed || !this.#pending.has(id)) {
        this.#host.release(tenant);
        return;
      }
      // A refresh accepted while we waited is checked against the open subscriptions only: check this one against it too.
      requireTenant(this.#claims, tenant);
      const subscriber = new MultiplexedSubscriber(this, this.#connection, id, start, predicate);
      this.#pending.delete(id);
      this.#subscriptions.set(id, { tenant, subscriber });
      registered = true;
      this.#reply({ op: 'subscribed', id, tenantid: tenant, after: start });
      await this.#host.subscribe(tenant, subscriber);
    } catch (error) {
      const gatewayError = toServiceError(error);
      if (gatewayError.status >= 500) this.#host.onError(error);
      if (registered) this.#unsubscribe(id, false);
      else if (admitted !== undefined) this.#host.release(admitted);
      this.#fail(id, gatewayError);
    } finally {
      this.#pending.delete(id);
    }
  }

  /** `{"op":"refresh","token":…}`: queued behind the refreshes before it. */
  #refresh(token: unknown): void {
    if (typeof token !== 'string' || token === '') {
      this.#connection.close(CloseCode.BadMessage, '"refresh" needs "token": the new token, a JWT string');
      return;
    }
    if (this.#queuedRefreshes >= MAX_QUEUED_REFRESHES) {
      this.#connection.close(CloseCode.BadMessage, 'too many refreshes at once: send one, and the next after its "refreshed"');
      return;
    }
    this.#queuedRefreshes++;
    this.#refreshes = this.#refreshes.then(async () => {
      await this.#applyRefresh(token);
      this.#queuedRefreshes--;
    });
  }

  /**
   * Verifies the new token with the one verifier, holds it to what the connection has (token-refresh.ts),
   * and moves the connection to it: its claims (for the subscribes that follow) and its expiry. A refusal
   * closes the connection with the error's close code; the client connects again with a valid token.
   */
  async #applyRefresh(token: string): Promise<void> {
    // A refresh queued behind one that was refused (or sent as the connection closed) is moot.
    if (this.#connection.closed) return;
    try {
      const claims = await this.#options.tokens.verify(token);
      if (this.#connection.closed) return;
      checkRefresh(
        this.#claims,
        claims,
        [...this.#subscriptions].map(([id, { tenant }]) => [id, tenant] as const),
      );
      this.#claims = claims;
      this.#lifetime.watch(claims.exp);
      this.#reply({ op: 'refreshed', exp: claims.exp ?? null });
      this.#options.onRefresh('refreshed');
    } catch (error) {
      const refusal = toServiceError(error);
      this.#options.onRefresh(refusal.code);
      if (refusal.status >= 500) this.#host.onError(error);
      this.#connection.close(refusal.closeCode ?? CloseCode.InternalError, refusal.message);
    }
  }

  #unsubscribe(id: string, acknowledge: boolean): void {
    this.#pending.delete(id);
    const active = this.#subscriptions.get(id);
    if (active !== undefined) {
      this.#subscriptions.delete(id);
      active.subscriber.ended = true;
      this.#host.unsubscribe(active.tenant, active.subscriber);
      this.#host.release(active.tenant);
    }
    if (acknowledge) this.#reply({ op: 'unsubscribed', id });
  }
}
