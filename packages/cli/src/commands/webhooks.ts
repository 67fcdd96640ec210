import type { WebhookEndpointInfo, WebhookPatch } from '@tenantcast/sdk';
import type { Command } from 'commander';
import { type CliIo, type ConnectionFlags, relaySubcommands, wholeNumber } from '../context.ts';
import { fields, table } from '../format.ts';
import { addFilterOptions, type FilterFlags, filtersOf } from './filters.ts';

interface EndpointFlags extends ConnectionFlags, FilterFlags {
  url?: string;
  endpointUrl?: string;
  description?: string;
  disable?: boolean;
  enable?: boolean;
  graceSeconds?: number;
  after?: string;
  since?: string;
  until?: string;
}

/** `tenantcast webhooks list|show|create|update|rotate|delete|replay`: a tenant's webhook endpoints, through the SDK's RelayClient. */
export function registerWebhooks(program: Command, io: CliIo): void {
  const webhooks = program.command('webhooks').description("manage a tenant's webhook endpoints (token scope admin)");
  const sub = relaySubcommands<EndpointFlags>(webhooks, io);

  sub('list', "list a tenant's endpoints", ['<tenant>'], async (client, [tenant]) => {
    const endpoints = await client.listWebhooks(tenant!);
    return { json: endpoints, text: endpointTable(endpoints) };
  });

  sub('show', 'show one endpoint, with its signing secret', ['<tenant>', '<endpoint-id>'], async (client, [tenant, id]) => {
    const endpoint = await client.getWebhook(tenant!, id!);
    return { json: endpoint, text: fields(endpoint as unknown as Record<string, unknown>) };
  });

  registerChanges(sub);
  registerRotateDeleteReplay(sub);
}

type Sub = ReturnType<typeof relaySubcommands<EndpointFlags>>;

/** `create` and `update`: an endpoint's URL, filters, description, and whether it delivers. */
function registerChanges(sub: Sub): void {
  addFilterOptions(
    sub('create', 'register an endpoint; prints its id and signing secret', ['<tenant>'], async (client, [tenant], flags, fail) => {
      if (flags.endpointUrl === undefined) fail('create needs --endpoint-url, the URL to deliver to');
      const filters = filtersOf(flags);
      const endpoint = await client.createWebhook(tenant!, {
        url: flags.endpointUrl!,
        ...(filters === undefined ? {} : { filters }),
        ...(flags.description === undefined ? {} : { description: flags.description }),
      });
      return { json: endpoint, text: `created ${endpoint.id}\nsecret  ${endpoint.secret}\n` };
    })
      .option('--endpoint-url <url>', 'where to deliver (http or https)')
      .option('--description <text>', 'what it is for'),
    'events delivered',
  ).addHelpText(
    'after',
    '\nExample:\n  tenantcast webhooks create demo --endpoint-url https://hooks.example/tenantcast --type-prefix com.qlik.web-integration.',
  );

  addFilterOptions(
    sub(
      'update',
      "change an endpoint's URL, filters or description, or disable or enable it",
      ['<tenant>', '<endpoint-id>'],
      async (client, [tenant, id], flags, fail) => {
        if (flags.disable && flags.enable) fail('give --disable or --enable, not both');
        const filters = filtersOf(flags);
        const patch: WebhookPatch = {
          ...(flags.endpointUrl === undefined ? {} : { url: flags.endpointUrl }),
          ...(filters === undefined ? {} : { filters }),
          ...(flags.description === undefined ? {} : { description: flags.description }),
          ...(flags.disable ? { disabled: true } : flags.enable ? { disabled: false } : {}),
        };
        if (Object.keys(patch).length === 0) fail('nothing to change: give --endpoint-url, a filter, --description, --disable or --enable');
        const endpoint = await client.updateWebhook(tenant!, id!, patch);
        const resumed =
          endpoint.resumed === undefined
            ? ''
            : `resumed: ${endpoint.resumed.enqueued} queued${endpoint.resumed.complete ? '' : ` (incomplete: replay --after ${endpoint.resumed.last})`}\n`;
        return { json: endpoint, text: endpointTable([endpoint]) + resumed };
      },
    )
      .option('--endpoint-url <url>', 'its new URL')
      .option('--description <text>', 'its new description')
      .option('--disable', 'stop deliveries')
      .option('--enable', 'resume deliveries from where they stopped'),
    'events delivered (replaces its filters)',
  );
}

/** `rotate` (a new signing secret), `delete`, and `replay` (stored events delivered again). */
function registerRotateDeleteReplay(sub: Sub): void {
  sub(
    'rotate',
    'give an endpoint a new signing secret; the old one also signs for the grace period',
    ['<tenant>', '<endpoint-id>'],
    async (client, [tenant, id], flags) => {
      const rotated = await client.rotateWebhookSecret(
        tenant!,
        id!,
        flags.graceSeconds === undefined ? {} : { graceSeconds: flags.graceSeconds },
      );
      return {
        json: rotated,
        text: `secret  ${rotated.secret}\nthe previous secret also signs until ${rotated.previousSecretExpiresAt}\n`,
      };
    },
  ).option('--grace-seconds <n>', 'how long the previous secret also signs (default 86400; 0 for none; at most 7 days)', wholeNumber(0));

  sub('delete', 'delete an endpoint', ['<tenant>', '<endpoint-id>'], async (client, [tenant, id]) => {
    await client.deleteWebhook(tenant!, id!);
    return { json: { id, deleted: true }, text: `deleted ${id}\n` };
  });

  sub(
    'replay',
    'deliver stored events to an endpoint again: after an offset, or between two times',
    ['<tenant>', '<endpoint-id>'],
    async (client, [tenant, id], flags) => {
      const replay = await client.replayWebhook(tenant!, id!, {
        ...(flags.after === undefined ? {} : { after: flags.after }),
        ...(flags.since === undefined ? {} : { since: flags.since }),
        ...(flags.until === undefined ? {} : { until: flags.until }),
      });
      const more = replay.complete ? '' : `incomplete: run again with --after ${replay.last}\n`;
      return { json: replay, text: `queued ${replay.enqueued} deliveries (${replay.merged} merged with ones already queued)\n${more}` };
    },
  )
    .option('--after <offset>', 'events after this offset (0: every retained event)')
    .option('--since <time>', 'events stored at or after this RFC 3339 time')
    .option('--until <time>', 'events stored before this RFC 3339 time');
}

function endpointTable(endpoints: readonly WebhookEndpointInfo[]): string {
  if (endpoints.length === 0) return 'no endpoints\n';
  return table(
    ['ID', 'STATE', 'URL', 'FILTERS', 'DESCRIPTION'],
    endpoints.map((e) => [
      e.id,
      e.disabled ? `disabled (${e.disabledReason})` : 'enabled',
      e.url,
      e.filters.length === 0 ? '' : JSON.stringify(e.filters),
      e.description,
    ]),
  );
}
