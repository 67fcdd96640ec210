/** Where a named schema lives in the document. */
const COMPONENTS = '#/components/schemas/';

/**
 * Moves every schema that carries an `$id` (the TypeBox schemas of api-schemas.ts, and the SDK's
 * recursive `FilterSchema`, whose `$defs` name `Filter`) into `components`, named by its `$id`, and
 * puts a `$ref` to it in its place: each shape is written once in the document and has a name in
 * the reference UI. A bare `$ref` (TypeBox's `Type.Ref('Filter')`) is pointed at the component.
 * Two different schemas under one `$id` are a mistake, and throw.
 */
export function hoistSchemas<T>(value: T, components: Record<string, unknown>): T {
  return hoist(value, components) as T;
}

function hoist(value: unknown, components: Record<string, unknown>): unknown {
  if (Array.isArray(value)) return value.map((item) => hoist(item, components));
  if (value === null || typeof value !== 'object') return value;
  const { $id, $defs, ...rest } = value as Record<string, unknown>;
  if ($defs !== undefined && typeof $defs === 'object' && $defs !== null) {
    for (const def of Object.values($defs)) hoist(def, components);
  }
  const body: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(rest)) {
    body[key] = key === '$ref' && typeof field === 'string' && !field.startsWith('#') ? `${COMPONENTS}${field}` : hoist(field, components);
  }
  if (typeof $id !== 'string') return body;
  const known = components[$id];
  if (known !== undefined && JSON.stringify(known) !== JSON.stringify(body)) {
    throw new Error(`Two different schemas have the $id "${$id}"; give one another $id.`);
  }
  components[$id] = body;
  return { $ref: `${COMPONENTS}${$id}` };
}
