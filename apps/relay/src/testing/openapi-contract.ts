import assert from 'node:assert/strict';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

// Checks real answers (and request bodies) against the relay's OpenAPI document with ajv: the
// document's own schemas (JSON Schema 2020-12, as OpenAPI 3.1 says), compiled from the document
// itself, so that a wrong schema, a missing status or a code a route does not list fails.

/** The parts of an OpenAPI document these checks read. */
interface Document {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }>; requestBody?: unknown }>>;
}

/** One exchange the contract checked: which operation, which status. */
export interface Checked {
  method: string;
  path: string;
  status: number;
}

/** Escapes a JSON Pointer token (RFC 6901 §3). */
const pointer = (token: string) => token.replaceAll('~', '~0').replaceAll('/', '~1');

/** `/v1/tenants/:tenantid/events` → `/v1/tenants/{tenantid}/events`, as the document names paths. */
export function openApiPath(fastifyUrl: string): string {
  return fastifyUrl.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** The contract of `document`: `answer` checks a response, `request` a JSON request body, `checked` lists what was checked. */
export function openApiContract(document: unknown) {
  const doc = document as Document;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema(document as object, 'openapi');
  const checked: Checked[] = [];

  function operation(method: string, path: string) {
    const op = doc.paths[path]?.[method.toLowerCase()];
    assert.ok(op, `the document has no ${method} ${path}`);
    return op;
  }

  function validate(ref: string, value: unknown, what: string): void {
    const check = ajv.getSchema(ref) ?? ajv.compile({ $ref: ref });
    assert.ok(check(value), `${what} does not match the document: ${ajv.errorsText(check.errors)}\n${JSON.stringify(value).slice(0, 600)}`);
  }

  return {
    checked,
    /** Reads `response`'s body and checks it against the operation's answer for its status; returns the body. */
    async answer(method: string, path: string, response: Response): Promise<any> {
      const op = operation(method, path);
      const documented = op.responses[String(response.status)];
      const text = await response.text();
      assert.ok(documented, `${method} ${path} answered ${response.status}, which the document does not list: ${text.slice(0, 300)}`);
      checked.push({ method, path, status: response.status });
      if (documented.content === undefined) {
        assert.equal(text, '', `${method} ${path} ${response.status} has no body in the document`);
        return undefined;
      }
      const media = response.headers.get('content-type')?.split(';')[0]?.trim() ?? '';
      assert.ok(
        media in documented.content,
        `${method} ${path} ${response.status} answered ${media}, not one of ${Object.keys(documented.content)}`,
      );
      const body = JSON.parse(text);
      const ref = `openapi#/paths/${pointer(path)}/${method.toLowerCase()}/responses/${response.status}/content/${pointer(media)}/schema`;
      validate(ref, body, `${method} ${path} ${response.status}`);
      return body;
    },
    /** Checks a request body the test sends against the operation's request body for `media`. */
    request(method: string, path: string, media: string, body: unknown): void {
      operation(method, path);
      validate(
        `openapi#/paths/${pointer(path)}/${method.toLowerCase()}/requestBody/content/${pointer(media)}/schema`,
        body,
        `the ${method} ${path} request`,
      );
    },
  };
}
