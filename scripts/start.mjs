// The README's start command (`npm start`): installs on first run, then runs the product locally
// (scripts/dev.ts, in this process). package.json runs it as `exec node scripts/start.mjs`, so that
// it is npm's own child: a SIGINT or SIGTERM sent to `npm start` reaches this process, which stops
// everything it started. Plain JavaScript, because tsx is only there once the install has run.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const modules = join(root, 'node_modules', '.modules.yaml');
const lockfile = join(root, 'pnpm-lock.yaml');
if (!existsSync(join(root, 'node_modules', '.pnpm')) || !existsSync(modules) || statSync(lockfile).mtimeMs > statSync(modules).mtimeMs) {
  process.stdout.write('== installing dependencies (first run)\n');
  const install = spawnSync('bash', [join(root, 'scripts', 'pnpm.sh'), 'install', '--frozen-lockfile'], { cwd: root, stdio: 'inherit' });
  if (install.status !== 0) process.exit(install.status ?? 1);
}
if (!existsSync(join(root, 'apps', 'console', 'dist', 'index.html'))) {
  // The relay serves the console whenever it has been built: build it once, as `pnpm build` does.
  process.stdout.write('== building the console (first run)\n');
  const build = spawnSync('bash', [join(root, 'scripts', 'pnpm.sh'), '--filter', '@tenantcast/console', 'run', 'build'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
// The CLI that `npm start` prints commands of (`npx tenantcast …`) runs its compiled dist/: build it,
// and its SDK, each time (tsc -b does nothing when they are current, in a fraction of a second).
const cli = spawnSync('bash', [join(root, 'scripts', 'pnpm.sh'), 'exec', 'tsc', '-b', join(root, 'packages', 'cli', 'tsconfig.build.json')], {
  cwd: root,
  stdio: 'inherit',
});
if (cli.status !== 0) process.exit(cli.status ?? 1);
const { register } = await import('tsx/esm/api');
register();
await import('./dev.ts');
