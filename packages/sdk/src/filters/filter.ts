import Type, { type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { describeIssues, TenantcastError, type ValidationIssue } from '../errors.ts';
import { exceedsDepth } from '../json-depth.ts';

/** Attribute → value maps of the `exact`, `prefix` and `suffix` dialects: 1 to 16 context attributes. */
// Subscriptions API §3.2.4.1: neither the attribute name nor the value may be empty.
const AttributeMap = Type.Record(Type.String(), Type.String({ minLength: 1, maxLength: 1024 }), {
  propertyNames: { pattern: '^[a-z0-9]{1,20}$' },
  minProperties: 1,
  maxProperties: 16,
});

/** Most filters in one expression, nested ones included; bounds the work per event. */
export const MAX_FILTER_NODES = 64;
/** Deepest filter tree, the top-level filter counting as level 1. */
export const MAX_FILTER_DEPTH = 8;

/**
 * A filter of the CloudEvents Subscriptions API (subscriptions/spec.md §3.2.4): one dialect per
 * object, of `exact`, `prefix`, `suffix`, `all`, `any` and `not`. `sql` is not supported.
 */
export type Filter =
  | { exact: Record<string, string> }
  | { prefix: Record<string, string> }
  | { suffix: Record<string, string> }
  | { all: Filter[] }
  | { any: Filter[] }
  | { not: Filter };

/** The JSON Schema of a `Filter`, for servers that take filters in a request body. */
export const FilterSchema: TSchema = Type.Cyclic(
  {
    Filter: Type.Union([
      Type.Object({ exact: AttributeMap }, { additionalProperties: false }),
      Type.Object({ prefix: AttributeMap }, { additionalProperties: false }),
      Type.Object({ suffix: AttributeMap }, { additionalProperties: false }),
      Type.Object({ all: Type.Array(Type.Ref('Filter'), { minItems: 1, maxItems: 32 }) }, { additionalProperties: false }),
      Type.Object({ any: Type.Array(Type.Ref('Filter'), { minItems: 1, maxItems: 32 }) }, { additionalProperties: false }),
      Type.Object({ not: Type.Ref('Filter') }, { additionalProperties: false }),
    ]),
  },
  'Filter',
);

const FiltersValidator = Compile(Type.Array(FilterSchema, { maxItems: 32 }));

/** Reads an event's attribute as the string it is compared by (CloudEvents type system's canonical string). */
function attribute(event: Record<string, unknown>, name: string): string | undefined {
  const value = event[name];
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** A compiled filter: true when the event matches. */
export type EventPredicate = (event: Record<string, unknown>) => boolean;

const DIALECTS = ['exact', 'prefix', 'suffix', 'all', 'any', 'not'];

/** Escapes one JSON Pointer reference token (RFC 6901 §3). */
function token(key: string | number): string {
  return String(key).replaceAll('~', '~0').replaceAll('/', '~1');
}

/** Explains a filter that failed the schema, naming the dialect problem when there is one. */
function explain(filters: unknown): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const walk = (node: unknown, path: string) => {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) {
      issues.push({ path, message: 'must be a filter object such as {"exact":{"type":"com.example.x"}}' });
      return;
    }
    const keys = Object.keys(node);
    if (keys.length !== 1) {
      issues.push({ path, message: `must hold exactly one dialect (${DIALECTS.join(', ')}), got ${keys.length}` });
      return;
    }
    const [dialect] = keys as [string];
    const value = (node as Record<string, unknown>)[dialect];
    if (!DIALECTS.includes(dialect)) {
      issues.push({
        path: `${path}/${token(dialect)}`,
        message: `dialect "${dialect}" is not supported; use one of ${DIALECTS.join(', ')}`,
      });
    } else if (dialect === 'all' || dialect === 'any') {
      if (!Array.isArray(value) || value.length === 0)
        issues.push({ path: `${path}/${dialect}`, message: 'must be a non-empty array of filters' });
      else if (value.length > 32) issues.push({ path: `${path}/${dialect}`, message: 'must hold at most 32 filters' });
      else for (const [i, child] of value.entries()) walk(child, `${path}/${dialect}/${i}`);
    } else if (dialect === 'not') {
      walk(value, `${path}/not`);
    } else if (value === null || typeof value !== 'object' || Array.isArray(value) || Object.keys(value).length === 0) {
      issues.push({ path: `${path}/${dialect}`, message: 'must map one or more attribute names to string values' });
    } else if (Object.keys(value).length > 16) {
      issues.push({ path: `${path}/${dialect}`, message: 'must name at most 16 attributes' });
    } else {
      for (const [name, v] of Object.entries(value)) {
        const at = `${path}/${dialect}/${token(name)}`;
        if (!/^[a-z0-9]{1,20}$/.test(name)) issues.push({ path: at, message: 'is not a CloudEvents attribute name (1-20 of a-z, 0-9)' });
        else if (typeof v !== 'string') issues.push({ path: at, message: 'must be a string' });
        else if (v === '') issues.push({ path: at, message: 'must not be empty' });
        else if (v.length > 1024) issues.push({ path: at, message: 'must be at most 1024 characters' });
      }
    }
  };
  if (!Array.isArray(filters)) issues.push({ path: '', message: 'must be an array of filters' });
  else for (const [i, f] of filters.entries()) walk(f, `/${i}`);
  return issues.length > 0 ? issues : [{ path: '', message: 'is too large: at most 32 filters per list' }];
}

function count(filter: Filter, depth: number, state: { nodes: number }): void {
  state.nodes++;
  if (state.nodes > MAX_FILTER_NODES)
    throw new TenantcastError('TC_ERR_VALIDATION', `Filters may hold at most ${MAX_FILTER_NODES} filters in all.`);
  if (depth > MAX_FILTER_DEPTH) throw new TenantcastError('TC_ERR_VALIDATION', `Filters may nest at most ${MAX_FILTER_DEPTH} levels deep.`);
  if ('all' in filter) for (const f of filter.all) count(f, depth + 1, state);
  else if ('any' in filter) for (const f of filter.any) count(f, depth + 1, state);
  else if ('not' in filter) count(filter.not, depth + 1, state);
}

function compileOne(filter: Filter): EventPredicate {
  if ('exact' in filter) {
    const pairs = Object.entries(filter.exact);
    return (event) => pairs.every(([name, value]) => attribute(event, name) === value);
  }
  if ('prefix' in filter) {
    const pairs = Object.entries(filter.prefix);
    return (event) => pairs.every(([name, value]) => attribute(event, name)?.startsWith(value) ?? false);
  }
  if ('suffix' in filter) {
    const pairs = Object.entries(filter.suffix);
    return (event) => pairs.every(([name, value]) => attribute(event, name)?.endsWith(value) ?? false);
  }
  if ('all' in filter) {
    const parts = filter.all.map(compileOne);
    return (event) => parts.every((p) => p(event));
  }
  if ('any' in filter) {
    const parts = filter.any.map(compileOne);
    return (event) => parts.some((p) => p(event));
  }
  const inner = compileOne(filter.not);
  return (event) => !inner(event);
}

/**
 * Validates a list of filters (all of which must hold) and compiles it into a predicate. Attribute
 * values compare as strings, case-sensitively; a missing attribute matches no `exact`, `prefix` or
 * `suffix`. An empty list matches every event. Throws `TC_ERR_VALIDATION` with JSON paths.
 * @example
 * const matches = compileFilters([{ prefix: { type: 'com.qlik.web-integration.' } }]);
 * matches(event); // true or false
 */
export function compileFilters(filters: unknown): EventPredicate {
  // Each filter level is at most two JSON levels; refuse deeper input before anything recurses over it.
  if (exceedsDepth(filters, 2 * MAX_FILTER_DEPTH + 2)) {
    throw new TenantcastError('TC_ERR_VALIDATION', `Filters may nest at most ${MAX_FILTER_DEPTH} levels deep.`, {
      details: [{ path: '', message: `nests deeper than ${MAX_FILTER_DEPTH} filter levels` }],
    });
  }
  if (!FiltersValidator.Check(filters)) {
    const issues = explain(filters);
    throw new TenantcastError('TC_ERR_VALIDATION', `Invalid filters: ${describeIssues(issues)}`, { details: issues });
  }
  const list = filters as Filter[];
  const state = { nodes: 0 };
  for (const f of list) count(f, 1, state);
  if (list.length === 0) return () => true;
  const parts = list.map(compileOne);
  return parts.length === 1 ? parts[0]! : (event) => parts.every((p) => p(event));
}
