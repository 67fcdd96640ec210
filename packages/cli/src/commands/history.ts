import type { Command } from 'commander';
import {
  type CliIo,
  type ConnectionFlags,
  jsonOptions,
  relayClient,
  relayOptions,
  usageFail,
  wantsJson,
  wholeNumber,
  write,
} from '../context.ts';
import { eventLine } from '../format.ts';

interface HistoryFlags extends ConnectionFlags {
  after: string;
  limit?: number;
}

/** The relay's largest page (its `limit` is 1–1000). */
const PAGE = 1000;

/** `tenantcast history <tenant>`: a tenant's stored events, oldest first, paged through the relay's history API. */
export function registerHistory(program: Command, io: CliIo): void {
  const command = program
    .command('history')
    .description("print a tenant's stored events, oldest first (GET /v1/tenants/{tenant}/events, page by page)")
    .argument('<tenant>', 'the tenant id')
    .option('--after <offset>', 'start after this offset', '0')
    .option('--limit <n>', 'print at most this many events (default: all, to the end of the stream)', wholeNumber(1));
  for (const option of [...relayOptions(), ...jsonOptions()]) command.addOption(option);
  command
    .addHelpText(
      'after',
      `
One JSON event a line unless stdout is a terminal (with its offset in "relayoffset", as tail prints).
When --limit stops it, the offset to go on from is printed to stderr.

Examples:
  tenantcast history demo
  tenantcast history demo --after 1700000000000-0 --limit 500 --json`,
    )
    .action(async (tenant: string, flags: HistoryFlags, cmd: Command) => {
      const client = relayClient(io, flags, usageFail(cmd));
      const json = wantsJson(io, flags);
      let printed = 0;
      let last: string | undefined;
      try {
        const pages = client.history(tenant, { after: flags.after, limit: Math.min(PAGE, flags.limit ?? PAGE) });
        for await (const page of pages) {
          for (const { offset, event } of page) {
            if (flags.limit !== undefined && printed >= flags.limit) {
              io.stderr.write(`tenantcast: stopped at --limit ${flags.limit}; go on with --after ${last}\n`);
              return;
            }
            const shown = { ...event, relayoffset: offset };
            await write(io.stdout, `${json ? JSON.stringify(shown) : eventLine(shown)}\n`);
            printed++;
            last = offset;
          }
        }
      } finally {
        await client.close();
      }
    });
}
