import type { TSchema } from 'typebox';

/**
 * One route's entry in the OpenAPI document, in the shape @fastify/swagger reads from a route's
 * `schema`. It is handed to swagger by `transform` only, never set on the route: Fastify would
 * validate requests with `body`, `querystring` and `params`, and serialize answers with `response`
 * (fast-json-stringify drops what a schema does not list, and coerces types); the relay's routes
 * read their bodies raw and check them by hand, and send their answers as they build them.
 */
export interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  /** Absent: the document's default (none). */
  security?: Array<Record<string, string[]>>;
  params?: TSchema;
  querystring?: TSchema;
  headers?: Record<string, unknown>;
  /** Request bodies by media type. */
  body?: { content: Record<string, { schema: unknown }> };
  /** Answers by status: a schema (JSON), `{ content }` for other media types, or `{ type: 'null' }` for none. */
  response: Record<number | string, unknown>;
  /** The token's scope, for readers and tools: OpenAPI's bearer scheme has no scopes. */
  'x-tenantcast-scope'?: 'publish' | 'subscribe' | 'admin';
}

/** Operations by route, `METHOD /fastify/:path`. */
export type OperationTable = Record<string, Operation>;

/** The bearer JWT, with the scope the route needs named in its description. */
export function bearer(scope: 'publish' | 'subscribe' | 'admin'): Pick<Operation, 'security' | 'x-tenantcast-scope'> {
  return { security: [{ bearerAuth: [] }], 'x-tenantcast-scope': scope };
}

/** A JSON answer with a description. */
export function json(description: string, schema: TSchema, headers?: Record<string, unknown>): unknown {
  return { description, ...(headers === undefined ? {} : { headers }), content: { 'application/json': { schema } } };
}
