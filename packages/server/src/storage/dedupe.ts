import * as crypto from 'node:crypto';

/** SHA-256 of `text` in base64url: Node's one-shot `crypto.hash` (20.12+) where it exists, a Hash object before. */
const sha256: (text: string) => string =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'base64url')
    : (text) => crypto.createHash('sha256').update(text).digest('base64url');

/**
 * Dedupe: an event is stored once per (`source`, `id`) within `DEDUPE_WINDOW_SECONDS`, as the
 * CloudEvents spec says the pair identifies an event. The check and the write are one atomic step:
 * the append script (`commands/append-events-5.lua`) looks the pair's digest up under the tenant's
 * `dedupePrefix` and, for a pair already stored, answers the first copy's offset instead of adding.
 *
 * The digest keeps keys short whatever the attributes' length. The pair is hashed as its JSON text,
 * which is unambiguous: JSON escapes every separator, control character and lone surrogate, so
 * different pairs never share an input. It is computed once per event of every write, so the
 * one-shot form matters: it costs about half of a Hash object's (no object, no second call).
 */
export function dedupeHash(source: string, id: string): string {
  return sha256(JSON.stringify([source, id]));
}
