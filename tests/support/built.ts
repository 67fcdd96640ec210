import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { OnClose } from '@tenantcast/testkit';
import { root } from './app-process.ts';

// What tests/package/ shares: they run what `pnpm build` made, as users and production do.

/**
 * This process's environment without the `source` condition that pnpm and npm put in NODE_OPTIONS
 * (and the config variables that would put it back): plain `node`, as production runs it.
 */
export function plainEnv(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const inherited = { ...process.env };
  for (const key of Object.keys(inherited)) if (/^(NODE_OPTIONS|(npm|pnpm)_config_node_?options)$/i.test(key)) delete inherited[key];
  return { ...inherited, ...env };
}

const execFileAsync = promisify(execFile);

/** Runs a command to its end with `plainEnv()` and resolves with its stdout; rejects with its output when it fails. */
export async function run(command: string, args: readonly string[], cwd: string, timeoutMs = 120_000): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, args, { cwd, env: plainEnv(), timeout: timeoutMs, maxBuffer: 16 << 20 });
    return stdout;
  } catch (error) {
    const { message, stdout } = error as { message: string; stdout?: string };
    throw new Error(`\`${command} ${args.join(' ')}\` in ${cwd} failed: ${message}\n${stdout ?? ''}`);
  }
}

/** A new directory under the OS's temporary folder, outside the workspace, removed on close. */
export async function tempDir(prefix: string, onClose: OnClose): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  onClose(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The compiled entry `apps/<app>/dist/<file>`; throws, saying to build, when it is missing. */
export function builtEntry(app: 'relay' | 'gateway', file = 'main.js'): string {
  const entry = join(root, 'apps', app, 'dist', file);
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`pnpm build\` first (scripts/test.sh does).`);
  return entry;
}
