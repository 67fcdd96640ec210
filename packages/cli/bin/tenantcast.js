#!/usr/bin/env node
// The `tenantcast` command: runs the compiled CLI (dist/main.js). Plain JavaScript, so that the bin
// exists from the install on (pnpm links it then); in a clone of the repository, `pnpm build` or
// `npm start` compiles dist/.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('tenantcast: the CLI is not built yet; run `pnpm build` (or `npm start` once) in the repository, then try again.\n');
  process.exit(1);
}
// Inside the workspace, pnpm puts `--conditions=source` in NODE_OPTIONS (pnpm-workspace.yaml), which
// resolves @tenantcast/sdk to its TypeScript sources; plain node cannot load them. Run again without it.
const options = process.env.NODE_OPTIONS ?? '';
if (/--conditions[= ]source\b/.test(options)) {
  const env = { ...process.env, NODE_OPTIONS: options.replace(/--conditions[= ]source\b/g, '').trim() };
  const child = spawn(process.execPath, [fileURLToPath(main), ...process.argv.slice(2)], { env, stdio: 'inherit' });
  // A terminal's Ctrl-C reaches the child itself (same process group): this process only waits for it.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' ? 130 : 1)));
} else {
  await import(main.href);
}
