import { createHash } from 'node:crypto';

/**
 * Dedupe: an event is stored once per (`source`, `id`) within `DEDUPE_WINDOW_SECONDS`, as the
 * CloudEvents spec says the pair identifies an event. The check and the write are one atomic step:
 * the append script (`commands/append-events-5.lua`) looks the pair's digest up under the tenant's
 * `dedupePrefix` and, for a pair already stored, answers the first copy's offset instead of adding.
 *
 * The digest keeps keys short whatever the attributes' length. The pair is hashed as its JSON text,
 * which is unambiguous: JSON escapes every separator, control character and lone surrogate, so
 * different pairs never share an input.
 */
export function dedupeHash(source: string, id: string): string {
  return createHash('sha256')
    .update(JSON.stringify([source, id]))
    .digest('base64url');
}
