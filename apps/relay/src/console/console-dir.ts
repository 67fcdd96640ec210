import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The console's build output beside the relay's package: apps/console/dist. This file sits two
 * folders below apps/relay both as source (src/console/) and compiled (dist/console/), so the path
 * holds however the relay is started (tsx or node).
 */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../../console/dist/', import.meta.url));

/** The folder the relay serves at /console/: CONSOLE_DIR, else the default. */
export function consoleDir(configured: string | undefined): string {
  return configured ?? DEFAULT_CONSOLE_DIR;
}

/** Whether the console has been built there: checked per request, so a build made after the relay started is served. */
export function isBuilt(dir: string): boolean {
  return existsSync(join(dir, 'index.html'));
}
