import { RelayClient } from '@tenantcast/sdk';
import { type Command, InvalidArgumentError, Option } from 'commander';

/** What a command reads and writes: the process's, given by main.ts, so that nothing else touches `process`. */
export interface CliIo {
  env: Readonly<Record<string, string | undefined>>;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Calls `listener` on SIGINT or SIGTERM instead of dying by it; the returned function stops that. */
  onInterrupt(listener: () => void): () => void;
  /** The exit code once the command has finished without throwing (publish: 1 when events were refused). */
  setExitCode(code: number): void;
}

/** `npm start`'s relay (scripts/dev.ts): RELAY_HOST 127.0.0.1, RELAY_PORT 8080. */
export const DEFAULT_RELAY_URL = 'http://127.0.0.1:8080';
/** `npm start`'s gateway: GATEWAY_HOST 127.0.0.1, GATEWAY_PORT 8081. */
export const DEFAULT_GATEWAY_URL = 'ws://127.0.0.1:8081';

/** The connection flags a command may take. */
export interface ConnectionFlags {
  url?: string;
  gatewayUrl?: string;
  token?: string;
  json?: boolean;
}

/** The relay's flags: `--url`, `--token` (TENANTCAST_URL, TENANTCAST_TOKEN). */
export function relayOptions(): Option[] {
  return [
    new Option('--url <url>', `the relay's base URL (default: $TENANTCAST_URL, else ${DEFAULT_RELAY_URL})`),
    new Option('--token <token>', 'a token granting the tenant (default: $TENANTCAST_TOKEN)'),
  ];
}

/** The gateway's flags: `--gateway-url`, `--token` (TENANTCAST_GATEWAY_URL, TENANTCAST_TOKEN). */
export function gatewayOptions(): Option[] {
  return [
    new Option('--gateway-url <url>', `the gateway's base URL (default: $TENANTCAST_GATEWAY_URL, else ${DEFAULT_GATEWAY_URL})`),
    new Option('--token <token>', 'a token with subscribe scope over the tenant (default: $TENANTCAST_TOKEN)'),
  ];
}

/** `--json` and `--no-json`: without either, JSON when stdout is not a terminal. */
export function jsonOptions(): Option[] {
  return [
    new Option('--json', 'print JSON (the default when stdout is not a terminal)'),
    new Option('--no-json', 'print lines for people, even when stdout is not a terminal'),
  ];
}

/** Whether to print JSON: as asked, else when stdout is not a terminal. */
export function wantsJson(io: CliIo, flags: ConnectionFlags): boolean {
  return flags.json ?? !io.stdout.isTTY;
}

/** A usage error: the caller's command line lacks something. main.ts exits 2 with the command's help. */
export type Fail = (message: string) => never;

/** `command`'s usage error: prints `error: <message>` and the command's help, then exits 2 (through main.ts). */
export function usageFail(command: Command): Fail {
  return (message) => command.error(`error: ${message}`, { exitCode: 2, code: 'tenantcast.usage' });
}

/** The token from `--token` or TENANTCAST_TOKEN; a usage error without one. */
export function tokenOf(io: CliIo, flags: ConnectionFlags, fail: Fail): string {
  const token = flags.token ?? io.env.TENANTCAST_TOKEN;
  if (!token) {
    fail(
      'no token: pass --token or set TENANTCAST_TOKEN (npm start prints dev tokens; or mint one with `tenantcast token mint`, which needs TENANTCAST_SECRET)',
    );
  }
  return token!;
}

/** A RelayClient for `--url`/TENANTCAST_URL with the token; batches up to the relay's default caps (500 events, 256 KiB). */
export function relayClient(io: CliIo, flags: ConnectionFlags, fail: Fail): RelayClient {
  return new RelayClient({
    url: flags.url ?? io.env.TENANTCAST_URL ?? DEFAULT_RELAY_URL,
    token: tokenOf(io, flags, fail),
    maxBatchSize: 500,
    maxBatchBytes: 256 * 1024,
  });
}

/** The gateway's URL from `--gateway-url`, TENANTCAST_GATEWAY_URL, or npm start's. */
export function gatewayUrlOf(io: CliIo, flags: ConnectionFlags): string {
  return flags.gatewayUrl ?? io.env.TENANTCAST_GATEWAY_URL ?? DEFAULT_GATEWAY_URL;
}

/** Commander's parser of a whole number from `min` to `max`. */
export function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    return n;
  };
}

/** Commander's parser of a repeatable JSON filter (`--filter '{"prefix":{"type":"com.qlik."}}'`), collected in a list. */
export function collectFilter(value: string, previous: unknown[] = []): unknown[] {
  let filter: unknown;
  try {
    filter = JSON.parse(value);
  } catch {
    throw new InvalidArgumentError('expected a filter as JSON, e.g. \'{"prefix":{"type":"com.qlik."}}\' (docs/protocol.md).');
  }
  return [...previous, filter];
}

/** Writes text to a stream and waits for it to drain when its buffer is full (a slow pipe). */
export async function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (!stream.write(text)) await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
}

/** What a relay subcommand prints: `json` with --json (or off a terminal), `text` for people. */
export interface Output {
  json: unknown;
  text: string;
}

/** A relay subcommand's work: the client, its positional arguments, its flags, and how to refuse usage. */
export type RelayRun<F extends ConnectionFlags> = (client: RelayClient, args: string[], flags: F, fail: Fail) => Promise<Output>;

/**
 * The subcommands of `parent` that call the relay: each gets the relay's flags and --json, a client
 * made from them (closed after), and prints what its `run` returns.
 */
export function relaySubcommands<F extends ConnectionFlags>(parent: Command, io: CliIo) {
  return (name: string, description: string, args: string[], run: RelayRun<F>): Command => {
    const command = parent.command(name).description(description);
    for (const arg of args) command.argument(arg);
    for (const option of [...relayOptions(), ...jsonOptions()]) command.addOption(option);
    command.action(async (...received: unknown[]) => {
      const cmd = received.at(-1) as Command;
      const flags = cmd.opts<F>();
      const fail = usageFail(cmd);
      const client = relayClient(io, flags, fail);
      try {
        const output = await run(client, received.slice(0, args.length) as string[], flags, fail);
        io.stdout.write(wantsJson(io, flags) ? `${JSON.stringify(output.json)}\n` : output.text);
      } finally {
        await client.close();
      }
    });
    return command;
  };
}
