#!/usr/bin/env node
// The `tenantcast` command: runs the compiled CLI (dist/main.js). Plain JavaScript, so that the bin
// exists from the install on (pnpm links it then); in a clone of the repository, `pnpm build` or the
// first `npm start` compiles dist/.
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('tenantcast: the CLI is not built yet; run `pnpm build` (or `npm start` once) in the repository, then try again.\n');
  process.exit(1);
}
await import(main.href);
