import { subscribe } from '@tenantcast/sdk';
import type { Command } from 'commander';
import {
  type CliIo,
  type ConnectionFlags,
  gatewayOptions,
  gatewayUrlOf,
  jsonOptions,
  tokenOf,
  usageFail,
  wantsJson,
  write,
} from '../context.ts';
import { eventLine, type PrintedEvent } from '../format.ts';
import { addFilterOptions, type FilterFlags, filtersOf } from './filters.ts';

interface TailFlags extends ConnectionFlags, FilterFlags {
  after?: string;
}

/**
 * `tenantcast tail <tenant>`: a tenant's events as they arrive, through the gateway with the SDK's
 * subscribe, which reconnects and resumes after the last offset by itself. SIGINT (Ctrl-C) or
 * SIGTERM ends it with exit code 0 and the last offset on stderr, for `--after` next time.
 */
export function registerTail(program: Command, io: CliIo): void {
  const command = program
    .command('tail')
    .description("print a tenant's events as they arrive (live), resuming across reconnects")
    .argument('<tenant>', 'the tenant id')
    .option('--after <offset>', 'start after this offset; 0 for every retained event (default: live events only)');
  addFilterOptions(command, 'events');
  for (const option of [...gatewayOptions(), ...jsonOptions()]) command.addOption(option);
  command
    .addHelpText(
      'after',
      `
Lines for people on a terminal (offset, time, type, source, id, data); one JSON event a line otherwise
(with its offset in "relayoffset"). Ctrl-C prints the last offset to stderr and exits 0.

Examples:
  tenantcast tail demo
  tenantcast tail demo --after 0 --type-prefix com.qlik.web-integration. --json | jq .data`,
    )
    .action(async (tenant: string, flags: TailFlags, cmd: Command) => {
      const fail = usageFail(cmd);
      const filters = filtersOf(flags);
      const subscription = subscribe<Record<string, unknown>>({
        url: gatewayUrlOf(io, flags),
        token: tokenOf(io, flags, fail),
        tenantid: tenant,
        ...(filters === undefined ? {} : { filters }),
        ...(flags.after === undefined ? {} : { after: flags.after }),
        onStatus: (status, detail) => {
          if (status === 'reconnecting') {
            io.stderr.write(
              `tenantcast: reconnecting in ${detail?.delayMs ?? 0} ms (${detail?.httpStatus ?? detail?.code ?? '-'} ${detail?.reason ?? ''})\n`,
            );
          }
        },
      });
      let stopped = false;
      const stopListening = io.onInterrupt(() => {
        stopped = true;
        subscription.close();
      });
      subscription.ready.then(
        () =>
          io.stderr.write(`tenantcast: tailing ${tenant} ${flags.after === undefined ? '(live)' : `after ${flags.after}`}; Ctrl-C stops\n`),
        () => {},
      );
      const json = wantsJson(io, flags);
      try {
        for await (const event of subscription) {
          const printed = event as unknown as PrintedEvent;
          await write(io.stdout, `${json ? JSON.stringify(printed) : eventLine(printed)}\n`);
        }
      } finally {
        stopListening();
      }
      if (!stopped) return;
      const last = subscription.offset ?? flags.after;
      io.stderr.write(
        last === undefined
          ? 'tenantcast: stopped before any event; last offset: none\n'
          : `tenantcast: stopped; last offset: ${last} (resume with --after ${last})\n`,
      );
    });
}
