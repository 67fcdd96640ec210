/**
 * The headers of every page the relay serves to a browser (the tenant console, the API reference at
 * /docs): its own files only (no inline script, no CDN), never framed, no referrer (a console URL's
 * fragment may hold a portal link's token). `connect` adds an origin the page may connect to (the
 * console's gateway); `inlineStyles` allows style attributes (Swagger UI sets them as it renders).
 */
export function pageHeaders(options: { connect?: string; inlineStyles?: boolean } = {}): Record<string, string> {
  return {
    'content-security-policy': [
      "default-src 'self'",
      "script-src 'self'",
      options.inlineStyles ? "style-src 'self' 'unsafe-inline'" : "style-src 'self'",
      "img-src 'self' data:",
      `connect-src 'self'${options.connect === undefined ? '' : ` ${options.connect}`}`,
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "form-action 'self'",
    ].join('; '),
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
  };
}
