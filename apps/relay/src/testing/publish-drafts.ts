import { type Accepted, makeEvent, publish } from '@tenantcast/testkit';
import type { TestRelay } from './start-relay.ts';

/** What a test publishes: the CloudEvents context (specversion, a random id, source, tenantid) is filled in. */
export interface Draft {
  type: string;
  data?: unknown;
  subject?: string;
}

/** Publishes `tenant`'s drafts through `relay` as one batch, with a token for that tenant alone; returns what was accepted. */
export async function publishDrafts(relay: TestRelay, tenant: string, drafts: readonly Draft[], source = '/tests'): Promise<Accepted[]> {
  const token = await relay.token({ scope: 'publish', tenants: [tenant] });
  return publish(
    relay.url,
    token,
    drafts.map((draft) => makeEvent(tenant, { source, ...draft })),
  );
}
