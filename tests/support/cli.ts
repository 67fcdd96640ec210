import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './app-process.ts';
import { plainEnv } from './built.ts';

// The built `tenantcast` CLI, run as its users run it: a child process of plain node (no `source`
// condition), through its bin, with only the TENANTCAST_* settings a test gives it.

/** The CLI's bin, which runs packages/cli/dist/main.js. */
export const cliBin = join(root, 'packages', 'cli', 'bin', 'tenantcast.js');

/** A running CLI process: its output so far, and its exit. */
export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** What a finished CLI process left. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment a CLI child gets: this process's, less NODE_OPTIONS' `source` condition and any TENANTCAST_* setting, plus `env`. */
function cliEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const inherited = plainEnv();
  for (const key of Object.keys(inherited)) if (key.startsWith('TENANTCAST_')) delete inherited[key];
  return { ...inherited, ...env };
}

/** Starts `tenantcast <args>`; `input` is written to its stdin, which is then closed. */
export function spawnCli(args: readonly string[], env: Record<string, string> = {}, input?: string): CliProcess {
  if (!existsSync(join(root, 'packages', 'cli', 'dist', 'main.js'))) {
    throw new Error('packages/cli/dist is missing: run `pnpm build` first (scripts/test.sh does).');
  }
  const child = spawn(process.execPath, [cliBin, ...args], { cwd: root, env: cliEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  child.stdin!.on('error', () => {});
  child.stdin!.end(input ?? '');
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Runs `tenantcast <args>` to its end (killed after `timeoutMs`). */
export async function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
  input?: string,
  timeoutMs = 60_000,
): Promise<CliResult> {
  const cli = spawnCli(args, env, input);
  const timer = setTimeout(() => cli.child.kill('SIGKILL'), timeoutMs);
  const { code } = await cli.exited;
  clearTimeout(timer);
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}
