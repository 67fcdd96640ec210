import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerDeliveries } from './commands/deliveries.ts';
import { registerHistory } from './commands/history.ts';
import { registerPublish } from './commands/publish.ts';
import { registerTail } from './commands/tail.ts';
import { registerToken } from './commands/token.ts';
import { registerWebhooks } from './commands/webhooks.ts';
import { type CliIo, DEFAULT_GATEWAY_URL, DEFAULT_RELAY_URL } from './context.ts';

/** The package's version, read from its package.json (one level above src/ and dist/ alike). */
function version(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/**
 * The `tenantcast` command and its subcommands. Errors go through Commander's exitOverride, so that
 * main.ts picks the exit code (2 for usage) rather than Commander's process.exit.
 */
export function createProgram(io: CliIo): Command {
  const program = new Command('tenantcast')
    .description('tenantcast from the command line: tokens, publishing, tailing and history, webhooks and deliveries.')
    .version(version(), '-V, --version')
    .exitOverride()
    .showHelpAfterError()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .addHelpText(
      'after',
      `
Settings (flags win):
  TENANTCAST_URL          the relay (default ${DEFAULT_RELAY_URL}, npm start's)
  TENANTCAST_GATEWAY_URL  the gateway (default ${DEFAULT_GATEWAY_URL}, npm start's)
  TENANTCAST_TOKEN        the token for every call (npm start prints dev tokens)
  TENANTCAST_SECRET       the servers' HS256 key, for token mint only

Exit codes: 0 done, 1 refused by the server (its TC_ERR code and message on stderr), 2 usage.
Every command takes --help. See docs/cli.md.`,
    );
  registerToken(program, io);
  registerPublish(program, io);
  registerTail(program, io);
  registerHistory(program, io);
  registerWebhooks(program, io);
  registerDeliveries(program, io);
  return program;
}
