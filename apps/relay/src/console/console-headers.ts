import { basename } from 'node:path';

/**
 * The headers of every console answer. The CSP lets the page load only its own files and connect
 * only to the relay and the gateway (no inline script, no CDN, no framing); `no-referrer` keeps the
 * URL, whose fragment may hold a portal link's token, out of every request the page makes.
 */
export function consoleHeaders(gatewayUrl: string | undefined): Record<string, string> {
  const gateway = gatewayUrl === undefined ? '' : ` ${new URL(gatewayUrl).origin}`;
  return {
    'content-security-policy': [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      `connect-src 'self'${gateway}`,
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "form-action 'self'",
    ].join('; '),
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
  };
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
