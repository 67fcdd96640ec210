import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { signWebhook } from '@tenantcast/sdk';
import type { HostResolver } from './host-resolver.ts';
import { addressClass, isPrivateAddress, PrivateAddressError, safeLookup } from './ssrf-guard.ts';

/** What one delivery attempt got back. */
export interface DeliveryResult {
  /** HTTP status, or 0 when no answer came (network error, timeout, refused address). */
  status: number;
  /** The start of the response body, or the error, for the dashboard. */
  snippet: string;
  /** Retry-After, in ms, when the endpoint sent one. */
  retryAfterMs: number | undefined;
  durationMs: number;
  /** Set when the URL may never be reached (private address): retrying cannot help. */
  permanent?: boolean;
  /** Set when no complete answer came within the deadline: the ms waited. */
  timedOutAfterMs?: number;
}

export interface DeliveryRequest {
  url: string;
  /**
   * The secrets to sign with, each giving one `v1,` signature: the endpoint's, and during a
   * rotation's grace its previous one too, so that a receiver holding either verifies.
   */
  secrets: readonly string[];
  /** Standard Webhooks message id: the same on every attempt and every manual retry. */
  webhookId: string;
  /** The structured-mode event JSON. */
  body: string;
  timeoutMs: number;
  allowPrivate: boolean;
  /** Resolves the URL's host name (not used for a literal IP). */
  resolver: HostResolver;
}

const SNIPPET_BYTES = 1024;

function retryAfter(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/**
 * POSTs one event to an endpoint in CloudEvents structured mode, signed per Standard Webhooks
 * (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>`, one per secret). It never throws: the
 * result says what happened.
 */
export async function deliver(request: DeliveryRequest): Promise<DeliveryResult> {
  const started = performance.now();
  const done = (result: Omit<DeliveryResult, 'durationMs'>): DeliveryResult => ({ ...result, durationMs: performance.now() - started });
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    return done({ status: 0, snippet: `not a URL: ${request.url}`, retryAfterMs: undefined, permanent: true });
  }
  // A literal IP skips DNS, so the lookup hook never sees it: check it here.
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) && isPrivateAddress(host) && !request.allowPrivate) {
    return done({
      status: 0,
      snippet: `${host} is a private address (${addressClass(host)}); webhooks may not reach it`,
      retryAfterMs: undefined,
      permanent: true,
    });
  }
  const timestamp = Math.floor(Date.now() / 1000);
  // Several signatures are space-separated in one header (Standard Webhooks, "Signature scheme").
  const signatures = await Promise.all(request.secrets.map((secret) => signWebhook(request.webhookId, timestamp, request.body, secret)));
  const signature = signatures.join(' ');
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<DeliveryResult>((resolve) => {
    const req = send(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/cloudevents+json; charset=utf-8',
          'content-length': Buffer.byteLength(request.body),
          'user-agent': 'tenantcast-webhooks/0.1',
          'webhook-id': request.webhookId,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signature,
        },
        lookup: safeLookup(request.allowPrivate, request.resolver) as never,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < SNIPPET_BYTES) chunks.push(chunk);
          size += chunk.length;
        });
        res.on('end', () =>
          resolve(
            done({
              status: res.statusCode ?? 0,
              snippet: Buffer.concat(chunks).subarray(0, SNIPPET_BYTES).toString('utf8'),
              retryAfterMs: retryAfter(res.headers['retry-after']),
            }),
          ),
        );
        // An answer cut off before its end is no answer: the attempt failed, and is retried.
        res.on('error', (error) => resolve(done({ status: 0, snippet: error.message, retryAfterMs: undefined })));
        res.on('close', () => {
          if (!res.complete) resolve(done({ status: 0, snippet: 'the answer was cut off before its end', retryAfterMs: undefined }));
        });
      },
    );
    // A deadline for the whole exchange, not just idle time: an endpoint trickling bytes would
    // otherwise hold a worker slot for ever.
    const deadline = setTimeout(() => {
      resolve(
        done({
          status: 0,
          snippet: `no complete answer within ${request.timeoutMs} ms`,
          retryAfterMs: undefined,
          timedOutAfterMs: request.timeoutMs,
        }),
      );
      req.destroy();
    }, request.timeoutMs);
    req.on('close', () => clearTimeout(deadline));
    req.on('error', (error) =>
      resolve(done({ status: 0, snippet: error.message, retryAfterMs: undefined, permanent: error instanceof PrivateAddressError })),
    );
    req.end(request.body);
  });
}
