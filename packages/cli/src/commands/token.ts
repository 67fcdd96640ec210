import { mintToken } from '@tenantcast/sdk/tokens';
import type { Command } from 'commander';
import { type CliIo, usageFail } from '../context.ts';

/** A jose time span (`90s`, `15m`, `1h`, `2 days`) or a number of seconds. */
const SPAN =
  /^\d+$|^\d+(\.\d+)? ?(s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hr|hrs|hour|hours|d|day|days|w|week|weeks|y|yr|yrs|year|years)$/i;

/** Splits `a,b c` into its words: lists may be comma- or space-separated. */
const words = (value: string) => value.split(/[\s,]+/).filter((w) => w !== '');

/** `tenantcast token mint`: an HS256 token signed with TENANTCAST_SECRET, printed alone on stdout. */
export function registerToken(program: Command, io: CliIo): void {
  const token = program.command('token').description('mint tokens for the relay and the gateway (needs TENANTCAST_SECRET)');
  token
    .command('mint')
    .description('print a token signed with TENANTCAST_SECRET (HS256), for TENANTCAST_TOKEN or --token')
    .requiredOption('--scope <scopes>', 'what it allows: publish, subscribe, admin (comma- or space-separated)')
    .requiredOption('--tenants <ids>', 'the tenant ids it grants (comma-separated), or * for every tenant')
    .option(
      '--expires-in <span>',
      'its lifetime: seconds, or a span such as 15m, 1h, 2d (the servers refuse more than AUTH_MAX_TOKEN_LIFETIME_SECONDS, 24 h by default)',
      '1h',
    )
    .option('--sub <subject>', 'its sub claim: who holds it', 'tenantcast-cli')
    .option('--issuer <iss>', 'its iss claim (for servers with AUTH_ISSUER)')
    .option('--audience <aud>', 'its aud claim (for servers with AUTH_AUDIENCE)')
    .addHelpText(
      'after',
      '\nExample:\n  export TENANTCAST_TOKEN=$(TENANTCAST_SECRET=… tenantcast token mint --scope publish,subscribe --tenants acme --expires-in 1h)',
    )
    .action(
      async (
        flags: { scope: string; tenants: string; expiresIn: string; sub: string; issuer?: string; audience?: string },
        command: Command,
      ) => {
        const secret = io.env.TENANTCAST_SECRET;
        if (!secret)
          usageFail(command)(
            "TENANTCAST_SECRET is not set: set it to the servers' HS256 key (npm start keeps its own in .tenantcast-dev/secret).",
          );
        if (!SPAN.test(flags.expiresIn.trim()))
          usageFail(command)(`--expires-in "${flags.expiresIn}" is not a lifetime: give seconds (3600) or a span (15m, 1h, 2d).`);
        const expiresIn = /^\d+$/.test(flags.expiresIn) ? Number(flags.expiresIn) : flags.expiresIn.trim();
        const minted = await mintToken(
          {
            sub: flags.sub,
            scope: words(flags.scope).join(' '),
            tenants: words(flags.tenants),
            expiresIn,
            ...(flags.issuer === undefined ? {} : { issuer: flags.issuer }),
            ...(flags.audience === undefined ? {} : { audience: flags.audience }),
          },
          secret!,
        ).catch((error: unknown) => usageFail(command)(`${(error as Error).message}`));
        io.stdout.write(`${minted}\n`);
      },
    );
}
