import { ERRORS, type ServerErrorCode } from '@tenantcast/sdk';
import Type from 'typebox';

/** One item of an error's `details`: where in the request, and what to fix there. */
const ErrorDetail = Type.Object(
  {
    index: Type.Optional(Type.Integer({ minimum: 0, description: "The event's position in a batch." })),
    path: Type.String({ description: 'A JSON Pointer (RFC 6901) into the request body or event.' }),
    message: Type.String(),
  },
  { $id: 'ErrorDetail' },
);

/**
 * The body of every refusal of the relay (`ServiceError.toBody()`, sent by errors.ts's one refusal
 * path): `{"error":{"code","message","details"?}}`. The codes are the SDK's `ERRORS` table.
 */
export const ErrorBody = Type.Object(
  {
    error: Type.Object(
      {
        code: Type.Union(
          serverCodes().map((code) => Type.Literal(code)),
          { description: 'A code of the table `ERRORS` in packages/sdk/src/errors.ts.' },
        ),
        message: Type.String({ description: 'What to change, not only what broke.' }),
        details: Type.Optional(Type.Array(ErrorDetail)),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, $id: 'ErrorBody' },
);

/** Every code a server may answer with: those of the table with an HTTP status. */
function serverCodes(): ServerErrorCode[] {
  return (Object.keys(ERRORS) as Array<keyof typeof ERRORS>).filter((code): code is ServerErrorCode => 'status' in ERRORS[code]);
}

/** The status of a server code, from the one table. */
export function statusOf(code: ServerErrorCode): number {
  return ERRORS[code].status;
}

/** What any request may meet before or beside its route: Node's refusals (errors.ts's clientErrorHandler), a crash, Redis down, shutdown. */
export const EVERY_ROUTE: readonly ServerErrorCode[] = [
  'TC_ERR_REQUEST_TIMEOUT',
  'TC_ERR_HEADERS_TOO_LARGE',
  'TC_ERR_INTERNAL',
  'TC_ERR_SHUTTING_DOWN',
];

/** What a route that reads a body may meet: the body limit (RELAY_BODY_LIMIT_BYTES). */
export const WITH_BODY: readonly ServerErrorCode[] = ['TC_ERR_PAYLOAD_TOO_LARGE'];

/** What the bearer token check answers (auth/require-token.ts) on any route. */
export const TOKEN_CHECK: readonly ServerErrorCode[] = [
  'TC_ERR_BAD_REQUEST',
  'TC_ERR_UNAUTHORIZED',
  'TC_ERR_TOKEN_INVALID',
  'TC_ERR_KEYS_UNAVAILABLE',
  'TC_ERR_FORBIDDEN_SCOPE',
];

/** What the bearer token check answers (auth/require-token.ts) on a route whose path names the tenant. */
export const TOKEN_IN_PATH: readonly ServerErrorCode[] = [
  'TC_ERR_BAD_REQUEST',
  'TC_ERR_UNAUTHORIZED',
  'TC_ERR_TOKEN_INVALID',
  'TC_ERR_KEYS_UNAVAILABLE',
  'TC_ERR_BAD_TENANT_ID',
  'TC_ERR_FORBIDDEN_SCOPE',
  'TC_ERR_FORBIDDEN_TENANT',
];

/** A Fastify-style response schema with its media type given, as @fastify/swagger reads it. */
interface DocumentedResponse {
  description: string;
  headers?: Record<string, unknown>;
  content: Record<string, { schema: unknown }>;
}

const RETRY_AFTER = { 'retry-after': { type: 'integer', description: 'Seconds to wait before retrying.' } };

/**
 * The error answers of a route: one per HTTP status of `codes`, its body the shared `ErrorBody`
 * with `code` narrowed to those codes, and a description listing each code with its default message.
 */
export function errorResponses(...groups: ReadonlyArray<readonly ServerErrorCode[]>): Record<number, DocumentedResponse> {
  const byStatus = new Map<number, Set<ServerErrorCode>>();
  for (const code of groups.flat()) {
    const status = statusOf(code);
    byStatus.set(status, (byStatus.get(status) ?? new Set()).add(code));
  }
  const responses: Record<number, DocumentedResponse> = {};
  for (const [status, set] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    const codes = [...set];
    const description = codes.map((code) => `\`${code}\`: ${ERRORS[code].message}`).join('\n\n');
    responses[status] = {
      description,
      ...(status === 429 || status === 503 ? { headers: RETRY_AFTER } : {}),
      content: {
        'application/json': {
          schema: {
            allOf: [ErrorBody, { type: 'object', properties: { error: { type: 'object', properties: { code: { enum: codes } } } } }],
          },
        },
      },
    };
  }
  return responses;
}
