import type { DeliveryInfo, DeliveryStatus } from '@tenantcast/sdk';
import { type Command, Option } from 'commander';
import { type CliIo, type ConnectionFlags, relaySubcommands, wholeNumber } from '../context.ts';
import { fields, table } from '../format.ts';

interface DeliveryFlags extends ConnectionFlags {
  status?: DeliveryStatus;
  limit: number;
}

/** `tenantcast deliveries list|show|retry|retry-failed`: an endpoint's delivery log, through the SDK's RelayClient. */
export function registerDeliveries(program: Command, io: CliIo): void {
  const deliveries = program
    .command('deliveries')
    .description("read an endpoint's delivery log and send deliveries again (token scope admin)");
  const sub = relaySubcommands<DeliveryFlags>(deliveries, io);

  sub('list', "list an endpoint's deliveries, newest first", ['<tenant>', '<endpoint-id>'], async (client, [tenant, id], flags) => {
    const found: DeliveryInfo[] = [];
    const pageSize = Math.min(flags.limit, 1000);
    for await (const page of client.listDeliveries(tenant!, id!, { limit: pageSize, ...(flags.status ? { status: flags.status } : {}) })) {
      found.push(...page.slice(0, flags.limit - found.length));
      if (found.length >= flags.limit) break;
    }
    const text =
      found.length === 0
        ? 'no deliveries\n'
        : table(
            ['ID', 'STATUS', 'ATTEMPTS', 'LAST STATUS', 'LAST ATTEMPT', 'EVENT TYPE', 'LAST ERROR'],
            found.map((d) => [d.id, d.status, d.attempts, d.lastStatus, d.lastAttemptAt, d.eventType, d.lastError]),
          );
    return { json: found, text };
  })
    .addOption(new Option('--status <status>', 'only deliveries in this state').choices(['pending', 'succeeded', 'failed']))
    .option('--limit <n>', 'list at most this many', wholeNumber(1), 100);

  sub(
    'show',
    'show one delivery and its attempts',
    ['<tenant>', '<endpoint-id>', '<delivery-id>'],
    async (client, [tenant, id, delivery]) => {
      const { attemptLog, ...info } = await client.getDelivery(tenant!, id!, delivery!);
      const attempts =
        attemptLog.length === 0
          ? 'no attempts yet\n'
          : table(
              ['AT', 'STATUS', 'DURATION MS', 'ERROR', 'RESPONSE BODY'],
              attemptLog.map((a) => [a.at, a.status, a.durationMs, a.error, a.responseBody?.replace(/\s+/g, ' ').slice(0, 80)]),
            );
      return { json: { ...info, attemptLog }, text: `${fields(info as unknown as Record<string, unknown>)}\n${attempts}` };
    },
  );

  sub(
    'retry',
    'send a delivery again, under the same webhook-id',
    ['<tenant>', '<endpoint-id>', '<delivery-id>'],
    async (client, [tenant, id, delivery]) => {
      const retried = await client.retryDelivery(tenant!, id!, delivery!);
      return { json: retried, text: `${retried.id}: ${retried.status}\n` };
    },
  );

  sub('retry-failed', "send an endpoint's failed deliveries again", ['<tenant>', '<endpoint-id>'], async (client, [tenant, id]) => {
    const { retried } = await client.retryFailedDeliveries(tenant!, id!);
    return { json: { retried }, text: `retried ${retried} failed deliveries\n` };
  });
}
