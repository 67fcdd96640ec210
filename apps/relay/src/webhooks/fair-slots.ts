/** A job that waits for a slot: parked out of the queue, and `wake` puts it back. */
export interface Parked {
  wake(): Promise<void>;
}

export interface SlotLimits {
  /** Deliveries in flight per tenant in this process. */
  perTenant: number;
  /** Deliveries in flight per endpoint in this process. */
  perEndpoint: number;
}

interface TenantSlots {
  inFlight: number;
  /** In flight per endpoint. */
  endpoints: Map<string, number>;
  /** Parked jobs per endpoint, oldest first; the map's order is the round-robin turn. */
  parked: Map<string, Parked[]>;
}

/**
 * The delivery slots of one process, shared fairly: a tenant holds at most `perTenant` of them and
 * an endpoint at most `perEndpoint`, so that a tenant whose endpoints hang (each delivery holding
 * its slot until the timeout) slows only itself, and one endpoint does not hold its tenant's share.
 *
 * A job over either cap is parked (the worker moves it to BullMQ's delayed set, so it holds no
 * slot and costs nothing while it waits) and is woken when a slot of its tenant frees: the freed
 * slot goes to the tenant's parked endpoints in turn (round robin), so that within a tenant a
 * healthy endpoint is not starved by its slow siblings either. A parked job also wakes by itself
 * after the worker's park time, should this process die with it parked.
 */
export class FairSlots {
  readonly #limits: SlotLimits;
  readonly #tenants = new Map<string, TenantSlots>();

  constructor(limits: SlotLimits) {
    this.#limits = limits;
  }

  /** Takes a slot for a delivery to `endpoint`; false when the tenant or the endpoint is at its cap. */
  take(tenant: string, endpoint: string): boolean {
    const slots = this.#slots(tenant);
    if (!this.#room(slots, endpoint)) return false;
    slots.inFlight++;
    slots.endpoints.set(endpoint, (slots.endpoints.get(endpoint) ?? 0) + 1);
    return true;
  }

  /**
   * Parks a job that found no slot. If a slot freed meanwhile (between the failed `take` and now),
   * the next parked job of the tenant is returned, to be woken at once; otherwise undefined.
   */
  park(tenant: string, endpoint: string, job: Parked): Parked | undefined {
    const slots = this.#slots(tenant);
    const queue = slots.parked.get(endpoint);
    if (queue === undefined) slots.parked.set(endpoint, [job]);
    else queue.push(job);
    return this.#next(slots);
  }

  /** Frees a slot; returns the tenant's parked job to wake in its place, if any may run now. */
  release(tenant: string, endpoint: string): Parked | undefined {
    const slots = this.#tenants.get(tenant);
    if (slots === undefined) return undefined;
    slots.inFlight--;
    const left = (slots.endpoints.get(endpoint) ?? 1) - 1;
    if (left <= 0) slots.endpoints.delete(endpoint);
    else slots.endpoints.set(endpoint, left);
    const next = this.#next(slots);
    if (slots.inFlight <= 0 && slots.parked.size === 0) this.#tenants.delete(tenant);
    return next;
  }

  /**
   * Whether `tenant` has jobs parked here and none in flight here: no release in this process will
   * wake them. That happens when the jobs woken by this process's releases were taken by another
   * delivery process (any process takes any job); the gates then wake them by a timer (delivery-gates.ts).
   */
  isStranded(tenant: string): boolean {
    const slots = this.#tenants.get(tenant);
    return slots !== undefined && slots.inFlight <= 0 && slots.parked.size > 0;
  }

  /** Every tenant that `isStranded`: a scan of all tenants here, for the stranded timer. */
  stranded(): string[] {
    return [...this.#tenants.keys()].filter((tenant) => this.isStranded(tenant));
  }

  /** Up to a tenant's share of its parked jobs (its endpoints in turn, each up to its cap), removed, to be woken. */
  wakeable(tenant: string): Parked[] {
    const slots = this.#tenants.get(tenant);
    if (slots === undefined) return [];
    const woken: Parked[] = [];
    const perEndpoint = new Map<string, number>();
    while (woken.length < this.#limits.perTenant) {
      let found = false;
      for (const [endpoint, queue] of slots.parked) {
        const taken = (slots.endpoints.get(endpoint) ?? 0) + (perEndpoint.get(endpoint) ?? 0);
        if (taken >= this.#limits.perEndpoint || queue.length === 0 || woken.length >= this.#limits.perTenant) continue;
        woken.push(queue.shift()!);
        perEndpoint.set(endpoint, (perEndpoint.get(endpoint) ?? 0) + 1);
        found = true;
      }
      if (!found) break;
    }
    for (const [endpoint, queue] of [...slots.parked]) if (queue.length === 0) slots.parked.delete(endpoint);
    if (slots.inFlight <= 0 && slots.parked.size === 0) this.#tenants.delete(tenant);
    return woken;
  }

  /** Every parked job, removed: for a process that stops, so that they go back to the queue now. */
  drain(): Parked[] {
    const all: Parked[] = [];
    for (const slots of this.#tenants.values()) {
      for (const queue of slots.parked.values()) all.push(...queue);
      slots.parked.clear();
    }
    return all;
  }

  /** Tenants with deliveries in flight or parked in this process, for the metrics. */
  get tenants(): number {
    return this.#tenants.size;
  }

  #slots(tenant: string): TenantSlots {
    let slots = this.#tenants.get(tenant);
    if (slots === undefined) {
      slots = { inFlight: 0, endpoints: new Map(), parked: new Map() };
      this.#tenants.set(tenant, slots);
    }
    return slots;
  }

  #room(slots: TenantSlots, endpoint: string): boolean {
    return slots.inFlight < this.#limits.perTenant && (slots.endpoints.get(endpoint) ?? 0) < this.#limits.perEndpoint;
  }

  /** The oldest parked job of the first endpoint, in turn, that has room now; that endpoint's turn goes to the back. */
  #next(slots: TenantSlots): Parked | undefined {
    if (slots.inFlight >= this.#limits.perTenant) return undefined;
    for (const [endpoint, queue] of slots.parked) {
      if (!this.#room(slots, endpoint)) continue;
      const job = queue.shift();
      slots.parked.delete(endpoint);
      if (queue.length > 0) slots.parked.set(endpoint, queue);
      return job;
    }
    return undefined;
  }
}
