import type { IncomingHttpHeaders } from 'node:http';
import { ServiceError } from '@tenantcast/server';

/** What a request carried, once read per the CloudEvents HTTP protocol binding. */
export interface ParsedRequest {
  /** Candidate events, not yet validated. */
  events: unknown[];
  /** True for batched mode: the answer and the errors name each event's index. */
  batch: boolean;
}

/** A media type split into its essence (lower-cased) and parameters (names lower-cased). */
export interface MediaType {
  essence: string;
  params: Record<string, string>;
}

/** Parses a Content-Type header (RFC 9110 §8.3.1), tolerant of case, spacing and quoted values. */
export function parseMediaType(header: string | undefined): MediaType | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const [essence = '', ...rest] = header.split(';');
  const params: Record<string, string> = {};
  for (const part of rest) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim().toLowerCase();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    params[name] = value;
  }
  return { essence: essence.trim().toLowerCase(), params };
}

function isJsonEssence(essence: string): boolean {
  return essence === 'application/json' || essence === 'text/json' || essence.endsWith('+json');
}

function isTextEssence(essence: string): boolean {
  return essence.startsWith('text/') || essence.endsWith('+xml') || essence === 'application/xml';
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes a body in the charset its media type names (UTF-8 when none). */
function decodeText(body: Buffer, media: MediaType | undefined): string {
  const charset = media?.params.charset ?? 'utf-8';
  let decoder: TextDecoder;
  try {
    // Stateless without `stream`, so UTF-8's decoder is built once.
    decoder = charset === 'utf-8' ? UTF8 : new TextDecoder(charset, { fatal: true });
  } catch {
    throw new ServiceError('TC_ERR_UNSUPPORTED_MEDIA_TYPE', `Charset "${charset}" is not supported; send UTF-8.`);
  }
  try {
    return decoder.decode(body);
  } catch {
    throw new ServiceError('TC_ERR_BAD_REQUEST', `The body is not valid ${charset}; send UTF-8 text.`);
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ServiceError('TC_ERR_INVALID_JSON', `The ${what} is not valid JSON: ${(error as Error).message}.`);
  }
}

const STRUCTURED = 'application/cloudevents+json';
const BATCH = 'application/cloudevents-batch+json';

/**
 * Reads a request in one of the CloudEvents HTTP binding's modes (spec: http-protocol-binding.md):
 * structured (§3.2), batched (§3.3), binary (§3.1, `ce-*` headers), or an `application/json` body
 * holding a whole CloudEvent with no `ce-specversion` header, as Qlik's webhooks post.
 * With `legacyJson`, any JSON object is taken as one event, for Qlik's legacy envelope.
 */
export function parseCloudEventsRequest(
  headers: IncomingHttpHeaders,
  body: Buffer | undefined,
  options: { legacyJson?: boolean; rawHeaders?: readonly string[] } = {},
): ParsedRequest {
  const media = parseMediaType(headers['content-type']);
  const bytes = body ?? Buffer.alloc(0);

  // §3.2: structured mode is recognized by its media type, before any ce-* header.
  if (media?.essence === STRUCTURED) {
    const event = parseJson(decodeText(bytes, media), 'structured-mode event');
    if (event === null || typeof event !== 'object' || Array.isArray(event)) {
      throw new ServiceError(
        'TC_ERR_VALIDATION',
        'A structured-mode body is one JSON object; for several events use application/cloudevents-batch+json.',
        {
          details: [{ path: '', message: 'must be object' }],
        },
      );
    }
    return { events: [event], batch: false };
  }
  if (media?.essence === BATCH) {
    const events = parseJson(decodeText(bytes, media), 'batch');
    if (!Array.isArray(events)) {
      throw new ServiceError('TC_ERR_VALIDATION', 'A batched-mode body is a JSON array of events.', {
        details: [{ path: '', message: 'must be array' }],
      });
    }
    return { events, batch: true };
  }
  if (headers['ce-specversion'] !== undefined) {
    if (options.rawHeaders !== undefined) refuseRepeatedAttributes(options.rawHeaders);
    return { events: [readBinaryMode(headers, bytes, media)], batch: false };
  }
  if (media !== undefined && isJsonEssence(media.essence) && bytes.length > 0) {
    const value = parseJson(decodeText(bytes, media), 'body');
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && ('specversion' in value || options.legacyJson)) {
      return { events: [value], batch: false };
    }
  }
  throw new ServiceError(
    'TC_ERR_UNSUPPORTED_MEDIA_TYPE',
    `Content-Type ${media ? `"${media.essence}"` : '(none)'} without a ce-specversion header is not a CloudEvents mode: ` +
      'send application/cloudevents+json, application/cloudevents-batch+json, binary mode with ce-* headers, or application/json holding a whole CloudEvent.',
  );
}

/**
 * Node joins a repeated header into one value with ", ", which would make two `ce-id` headers one
 * id; the raw header list shows the repeat, so it is refused instead.
 */
function refuseRepeatedAttributes(rawHeaders: readonly string[]): void {
  const seen = new Set<string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (!name.startsWith('ce-')) continue;
    if (seen.has(name))
      throw new ServiceError('TC_ERR_INVALID_HEADER', `Header ${name} appears more than once; send each ce-* header once.`);
    seen.add(name);
  }
}

/**
 * Decodes a binary-mode header value (§3.1.3.2): percent-encoded UTF-8 sequences are decoded;
 * a `%` not followed by two hex digits, or bytes that are not UTF-8, are an error.
 */
export function decodeHeaderValue(name: string, value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    throw new ServiceError(
      'TC_ERR_INVALID_HEADER',
      `Header ${name} holds a bad percent-encoding; encode non-ASCII, space, '"' and '%' as UTF-8 %XX sequences.`,
    );
  }
}

/**
 * §3.1: attributes from `ce-*` headers, `datacontenttype` from Content-Type, `data` from the body:
 * parsed for JSON media types, text for text types, and `data_base64` for anything else (or none).
 */
function readBinaryMode(headers: IncomingHttpHeaders, body: Buffer, media: MediaType | undefined): Record<string, unknown> {
  const event: Record<string, unknown> = {};
  for (const [header, raw] of Object.entries(headers)) {
    if (!header.startsWith('ce-') || raw === undefined) continue;
    const name = header.slice(3);
    if (Array.isArray(raw)) {
      throw new ServiceError('TC_ERR_INVALID_HEADER', `Header ${header} appears more than once; send each ce-* header once.`);
    }
    event[name] = decodeHeaderValue(header, raw);
  }
  const contentType = headers['content-type'];
  if (contentType !== undefined && contentType !== '') event.datacontenttype = contentType;
  if (body.length === 0) return event;
  if (media !== undefined && isJsonEssence(media.essence)) {
    event.data = parseJson(decodeText(body, media), 'binary-mode body (data)');
  } else if (media !== undefined && isTextEssence(media.essence)) {
    event.data = decodeText(body, media);
  } else {
    event.data_base64 = body.toString('base64');
  }
  return event;
}
