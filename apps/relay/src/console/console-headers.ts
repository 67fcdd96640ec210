import { basename } from 'node:path';
import { pageHeaders } from '../page-headers.ts';

/**
 * The headers of every console answer: a page's (page-headers.ts), connecting only to the relay and
 * the gateway.
 */
export function consoleHeaders(gatewayUrl: string | undefined): Record<string, string> {
  return pageHeaders(gatewayUrl === undefined ? {} : { connect: new URL(gatewayUrl).origin });
}

/**
 * A built file whose name carries a content hash (`index-4XH2K7QZ.js`, as esbuild's and Vite's
 * `[name]-[hash]` make them): a segment of 8 or more letters, digits or `_` holding a digit or a
 * capital, after a `-` or `.`, right before the extension.
 */
const HASHED = /[-.](?=[A-Za-z0-9_]*[A-Z0-9])[A-Za-z0-9_]{8,}\.[A-Za-z0-9]+$/;

/**
 * How long a browser may keep a console file: index.html never (it names the current assets, and a
 * new build must show at once), a hashed asset a year (its name changes with its content), any other
 * file only after asking again (`no-cache` revalidates with its ETag).
 */
export function cacheControlOf(path: string): string {
  const name = basename(path);
  if (name === 'index.html') return 'no-store';
  if (HASHED.test(name)) return 'public, max-age=31536000, immutable';
  return 'no-cache';
}
