import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { TenantcastError } from '../errors.ts';
import { compileFilters, type Filter, MAX_FILTER_DEPTH, MAX_FILTER_NODES } from './filter.ts';

type Event = Record<string, unknown>;

const CREATED: Event = {
  specversion: '1.0',
  id: 'A234-1234-1234',
  source: 'com.qlik/my-service',
  type: 'com.qlik.web-integration.created',
  subject: 'web-integrations/id123',
  tenantid: 'VZhiEfgW2bLd7HgR-jjzAh6VnicipweT',
  data: { id: 'id123' },
};
const DELETED: Event = { ...CREATED, type: 'com.qlik.web-integration.deleted' };
const OTHER: Event = { ...CREATED, type: 'com.qlik.space.created', source: 'com.qlik/spaces', subject: 'spaces/s1' };

/** Compiles `filters` and applies the predicate to `event`. */
function matches(filters: unknown, event: Event): boolean {
  return compileFilters(filters)(event);
}

/** Returns the TC_ERR_VALIDATION error that compiling `filters` throws; fails the test on anything else. */
function validationError(filters: unknown): TenantcastError {
  try {
    compileFilters(filters);
  } catch (err) {
    assert.ok(err instanceof TenantcastError, `expected a TenantcastError, got ${String(err)}`);
    assert.equal(err.code, 'TC_ERR_VALIDATION');
    return err;
  }
  assert.fail('expected compileFilters to throw');
}

/** Wraps `inner` in `levels` filters of `dialect`, so that `inner` sits at depth `levels + 1`. */
function nest(levels: number, dialect: 'not' | 'all' | 'any', inner: Filter = { exact: { type: 'x' } }): Filter {
  let filter = inner;
  for (let i = 0; i < levels; i++) filter = dialect === 'not' ? { not: filter } : dialect === 'all' ? { all: [filter] } : { any: [filter] };
  return filter;
}

const leaf = (type: string): Filter => ({ exact: { type } });

describe('compileFilters: dialects', () => {
  test('exact matches the whole value and nothing else', () => {
    assert.equal(matches([{ exact: { type: 'com.qlik.web-integration.created' } }], CREATED), true);
    assert.equal(matches([{ exact: { type: 'com.qlik.web-integration.created' } }], DELETED), false);
    assert.equal(matches([{ exact: { type: 'com.qlik.web-integration' } }], CREATED), false);
    assert.equal(matches([{ exact: { type: 'com.qlik.web-integration.created.v2' } }], CREATED), false);
  });

  test('exact with several attributes matches only when every one holds', () => {
    const filters = [{ exact: { type: 'com.qlik.web-integration.created', source: 'com.qlik/my-service' } }];
    assert.equal(matches(filters, CREATED), true);
    assert.equal(matches(filters, DELETED), false, 'type differs');
    assert.equal(matches(filters, { ...CREATED, source: 'com.qlik/other' }), false, 'source differs');
  });

  test('prefix matches values that start with it', () => {
    assert.equal(matches([{ prefix: { type: 'com.qlik.web-integration.' } }], CREATED), true);
    assert.equal(matches([{ prefix: { type: 'com.qlik.web-integration.created' } }], CREATED), true, 'the whole value is a prefix');
    assert.equal(matches([{ prefix: { type: 'com.qlik.web-integration.' } }], OTHER), false);
    assert.equal(matches([{ prefix: { type: 'qlik' } }], CREATED), false, 'a substring elsewhere is no prefix');
    assert.equal(matches([{ prefix: { type: 'com.qlik.web-integration.created.' } }], CREATED), false, 'longer than the value');
  });

  test('prefix with several attributes matches only when every one holds', () => {
    const filters = [{ prefix: { type: 'com.qlik.', subject: 'web-integrations/' } }];
    assert.equal(matches(filters, CREATED), true);
    assert.equal(matches(filters, OTHER), false);
  });

  test('suffix matches values that end with it', () => {
    assert.equal(matches([{ suffix: { type: '.created' } }], CREATED), true);
    assert.equal(matches([{ suffix: { type: '.created' } }], OTHER), true);
    assert.equal(matches([{ suffix: { type: '.created' } }], DELETED), false);
    assert.equal(matches([{ suffix: { type: 'com.qlik' } }], CREATED), false, 'a prefix is no suffix');
    assert.equal(matches([{ suffix: { type: `x${String(CREATED.type)}` } }], CREATED), false, 'longer than the value');
  });

  test('suffix with several attributes matches only when every one holds', () => {
    const filters = [{ suffix: { type: '.created', subject: '/id123' } }];
    assert.equal(matches(filters, CREATED), true);
    assert.equal(matches(filters, OTHER), false);
  });

  test('all matches when every nested filter matches', () => {
    const filters = [
      { all: [{ prefix: { type: 'com.qlik.' } }, { suffix: { type: '.created' } }, { exact: { source: 'com.qlik/my-service' } }] },
    ];
    assert.equal(matches(filters, CREATED), true);
    assert.equal(matches(filters, DELETED), false);
    assert.equal(matches(filters, OTHER), false);
  });

  test('any matches when at least one nested filter matches', () => {
    const filters = [{ any: [leaf('com.qlik.web-integration.deleted'), { exact: { source: 'com.qlik/spaces' } }] }];
    assert.equal(matches(filters, DELETED), true);
    assert.equal(matches(filters, OTHER), true);
    assert.equal(matches(filters, CREATED), false);
    assert.equal(matches([{ any: [leaf('com.qlik.web-integration.created')] }], CREATED), true, 'a single member');
  });

  test('not inverts its filter', () => {
    assert.equal(matches([{ not: { suffix: { type: '.deleted' } } }], CREATED), true);
    assert.equal(matches([{ not: { suffix: { type: '.deleted' } } }], DELETED), false);
  });

  test('nested combinations evaluate as boolean expressions', () => {
    // Web-integration events that are not deletions, or any event from the spaces service.
    const filters = [
      {
        any: [
          { all: [{ prefix: { type: 'com.qlik.web-integration.' } }, { not: { suffix: { type: '.deleted' } } }] },
          { not: { not: { exact: { source: 'com.qlik/spaces' } } } },
        ],
      },
    ];
    assert.equal(matches(filters, CREATED), true);
    assert.equal(matches(filters, DELETED), false);
    assert.equal(matches(filters, OTHER), true);
    assert.equal(matches(filters, { ...OTHER, source: 'com.qlik/apps' }), false);
  });

  test('values compare case-sensitively in every dialect', () => {
    const event = { type: 'com.Example.Created' };
    assert.equal(matches([{ exact: { type: 'com.example.created' } }], event), false);
    assert.equal(matches([{ exact: { type: 'com.Example.Created' } }], event), true);
    assert.equal(matches([{ prefix: { type: 'com.example.' } }], event), false);
    assert.equal(matches([{ prefix: { type: 'com.Example.' } }], event), true);
    assert.equal(matches([{ suffix: { type: '.created' } }], event), false);
    assert.equal(matches([{ suffix: { type: '.Created' } }], event), true);
  });

  test('attribute names are case-sensitive: a filter on "type" does not read "Type"', () => {
    assert.equal(matches([{ exact: { type: 'x' } }], { Type: 'x' }), false);
  });

  test('a missing attribute matches no exact, prefix or suffix, and its not matches', () => {
    const event = { type: 'com.example.x' };
    const filters: Filter[] = [{ exact: { subject: 'x' } }, { prefix: { subject: 'x' } }, { suffix: { subject: 'x' } }];
    for (const filter of filters) {
      const dialect = Object.keys(filter)[0];
      assert.equal(matches([filter], event), false, `${dialect} on a missing attribute`);
      assert.equal(matches([{ not: filter }], event), true, `not ${dialect} on a missing attribute`);
    }
    // One missing attribute among several fails the whole map.
    assert.equal(matches([{ exact: { type: 'com.example.x', subject: 'x' } }], event), false);
  });

  test('null, object and array attribute values count as missing, not as their String() form', () => {
    assert.equal(matches([{ exact: { subject: 'null' } }], { subject: null }), false);
    assert.equal(matches([{ exact: { subject: 'undefined' } }], { subject: undefined }), false);
    assert.equal(matches([{ exact: { data: '[object Object]' } }], { data: {} }), false);
    assert.equal(matches([{ exact: { tags: 'a,b' } }], { tags: ['a', 'b'] }), false);
    assert.equal(matches([{ not: { prefix: { subject: 'n' } } }], { subject: null }), true);
  });

  test('inherited properties are not attributes: "constructor" is missing on a plain event', () => {
    assert.equal(matches([{ prefix: { constructor: 'f' } }], {}), false);
    assert.equal(matches([{ not: { suffix: { constructor: '}' } } }], {}), true);
  });

  test('integer extension values compare by their string form', () => {
    const event = { sequence: 42, zero: 0, negative: -7 };
    assert.equal(matches([{ exact: { sequence: '42' } }], event), true);
    assert.equal(matches([{ exact: { sequence: '042' } }], event), false);
    assert.equal(matches([{ exact: { sequence: '42.0' } }], event), false);
    assert.equal(matches([{ prefix: { sequence: '4' } }], event), true);
    assert.equal(matches([{ suffix: { sequence: '2' } }], event), true);
    assert.equal(matches([{ exact: { zero: '0', negative: '-7' } }], event), true);
  });

  test('boolean extension values compare by their string form', () => {
    assert.equal(matches([{ exact: { sampled: 'true' } }], { sampled: true }), true);
    assert.equal(matches([{ exact: { sampled: 'false' } }], { sampled: false }), true);
    assert.equal(matches([{ exact: { sampled: 'True' } }], { sampled: true }), false);
    assert.equal(matches([{ exact: { sampled: '1' } }], { sampled: true }), false);
    assert.equal(matches([{ prefix: { sampled: 'fa' } }], { sampled: false }), true);
  });

  test('an empty list matches every event', () => {
    const all = compileFilters([]);
    assert.equal(all(CREATED), true);
    assert.equal(all({}), true);
  });

  test('several top-level filters must all hold', () => {
    const filters = [{ prefix: { type: 'com.qlik.' } }, { suffix: { type: '.created' } }, { exact: { source: 'com.qlik/my-service' } }];
    assert.equal(matches(filters, CREATED), true);
    assert.equal(matches(filters, DELETED), false, 'second fails');
    assert.equal(matches(filters, OTHER), false, 'third fails');
    assert.equal(matches(filters, { ...CREATED, type: 'org.example.created' }), false, 'first fails');
  });

  test('accepts the limits themselves: 32 filters, 16 attributes, 1024-character values, 20-character names', () => {
    assert.equal(typeof compileFilters(Array.from({ length: 32 }, (_, i) => leaf(`t${i}`))), 'function');
    const attrs = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`a${i}`, 'v']));
    assert.equal(matches([{ exact: attrs }], attrs), true);
    assert.equal(matches([{ exact: { type: 'x'.repeat(1024) } }], { type: 'x'.repeat(1024) }), true);
    assert.equal(matches([{ exact: { ['a'.repeat(20)]: 'v' } }], { ['a'.repeat(20)]: 'v' }), true);
  });
});

// Small alphabets, so that random filters and events often share names and values (and prefixes and suffixes).
const NAMES = ['type', 'source', 'subject', 'seq', 'flag'] as const;
const FILTER_VALUES = ['a', 'ab', 'b', 'ba', 'abc', 'A', '1', '12', '2', 'true', 'false'] as const;

const eventArb: fc.Arbitrary<Event> = fc.dictionary(
  fc.constantFrom(...NAMES),
  fc.oneof(fc.constantFrom('a', 'ab', 'ba', 'abc', 'A', 'b', ''), fc.integer({ min: -2, max: 20 }), fc.boolean(), fc.constant(null)),
  { maxKeys: NAMES.length },
);

const attributesArb = fc.dictionary(fc.constantFrom(...NAMES), fc.constantFrom(...FILTER_VALUES), { minKeys: 1, maxKeys: 3 });

const leafArb: fc.Arbitrary<Filter> = fc.oneof(
  attributesArb.map((exact) => ({ exact })),
  attributesArb.map((prefix) => ({ prefix })),
  attributesArb.map((suffix) => ({ suffix })),
);

/** Filter trees at most `depth` combinators deep. */
function filterArb(depth: number): fc.Arbitrary<Filter> {
  if (depth === 0) return leafArb;
  const child = filterArb(depth - 1);
  return fc.oneof(
    { arbitrary: leafArb, weight: 2 },
    { arbitrary: fc.array(child, { minLength: 1, maxLength: 3 }).map((all) => ({ all })), weight: 1 },
    { arbitrary: fc.array(child, { minLength: 1, maxLength: 3 }).map((any) => ({ any })), weight: 1 },
    { arbitrary: child.map((not) => ({ not })), weight: 1 },
  );
}

/** The number of filters in a tree, itself included. */
function size(filter: Filter): number {
  if ('all' in filter) return 1 + filter.all.reduce((n, f) => n + size(f), 0);
  if ('any' in filter) return 1 + filter.any.reduce((n, f) => n + size(f), 0);
  if ('not' in filter) return 1 + size(filter.not);
  return 1;
}

const treeArb = filterArb(3); // at most 4 levels and 40 filters
const listArb = fc.array(treeArb, { maxLength: 3 }).filter((list) => list.reduce((n, f) => n + size(f), 0) <= MAX_FILTER_NODES);

/** The subscriptions spec (§3.2.4) read literally, written independently of filter.ts. */
function reference(filter: Filter, event: Event): boolean {
  const read = (name: string): string | undefined => {
    if (!Object.hasOwn(event, name)) return undefined;
    const value = event[name];
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return `${value}`;
    return undefined;
  };
  const every = (map: Record<string, string>, test: (actual: string, wanted: string) => boolean) => {
    for (const name of Object.keys(map)) {
      const actual = read(name);
      if (actual === undefined || !test(actual, map[name]!)) return false;
    }
    return true;
  };
  if ('exact' in filter) return every(filter.exact, (actual, wanted) => actual === wanted);
  if ('prefix' in filter) return every(filter.prefix, (actual, wanted) => actual.slice(0, wanted.length) === wanted);
  if ('suffix' in filter)
    return every(
      filter.suffix,
      (actual, wanted) => actual.length >= wanted.length && actual.slice(actual.length - wanted.length) === wanted,
    );
  if ('all' in filter) {
    for (const f of filter.all) if (!reference(f, event)) return false;
    return true;
  }
  if ('any' in filter) {
    for (const f of filter.any) if (reference(f, event)) return true;
    return false;
  }
  return !reference(filter.not, event);
}

describe('compileFilters: properties', () => {
  test('agrees with the reference evaluator on random filter lists and events', () => {
    fc.assert(
      fc.property(listArb, fc.array(eventArb, { minLength: 1, maxLength: 8 }), (list, events) => {
        const predicate = compileFilters(list);
        for (const event of events) {
          const expected = list.every((f) => reference(f, event));
          assert.equal(predicate(event), expected, `event ${JSON.stringify(event)}`);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('not(not(f)) is f', () => {
    fc.assert(
      fc.property(treeArb, fc.array(eventArb, { minLength: 1, maxLength: 8 }), (f, events) => {
        const plain = compileFilters([f]);
        const doubled = compileFilters([{ not: { not: f } }]);
        for (const event of events) assert.equal(doubled(event), plain(event));
      }),
    );
  });

  test('all([f]) is f', () => {
    fc.assert(
      fc.property(treeArb, fc.array(eventArb, { minLength: 1, maxLength: 8 }), (f, events) => {
        const plain = compileFilters([f]);
        const wrapped = compileFilters([{ all: [f] }]);
        for (const event of events) assert.equal(wrapped(event), plain(event));
      }),
    );
  });

  test('any([f, g]) is f || g', () => {
    fc.assert(
      fc.property(treeArb, treeArb, fc.array(eventArb, { minLength: 1, maxLength: 8 }), (f, g, events) => {
        fc.pre(1 + size(f) + size(g) <= MAX_FILTER_NODES);
        const pf = compileFilters([f]);
        const pg = compileFilters([g]);
        const either = compileFilters([{ any: [f, g] }]);
        for (const event of events) assert.equal(either(event), pf(event) || pg(event));
      }),
    );
  });

  test('a list of filters is the all of them', () => {
    fc.assert(
      fc.property(listArb, fc.array(eventArb, { minLength: 1, maxLength: 8 }), (list, events) => {
        fc.pre(list.length > 0 && list.reduce((n, f) => n + size(f), 1) <= MAX_FILTER_NODES);
        const asList = compileFilters(list);
        const asAll = compileFilters([{ all: list }]);
        for (const event of events) assert.equal(asList(event), asAll(event));
      }),
    );
  });
});

/** Fails unless compiling `filters` gives either a function or a TC_ERR_VALIDATION TenantcastError with pointer paths. */
function assertFunctionOrValidationError(filters: unknown): void {
  let result: unknown;
  try {
    result = compileFilters(filters);
  } catch (err) {
    assert.ok(err instanceof TenantcastError, `threw ${String(err)}`);
    assert.equal(err.code, 'TC_ERR_VALIDATION');
    assert.ok(Array.isArray(err.details));
    for (const issue of err.details) assert.match(issue.path, /^(\/.*)?$/, 'a JSON Pointer is empty or starts with /');
    return;
  }
  assert.equal(typeof result, 'function');
  assert.equal(typeof (result as (e: Event) => unknown)({ type: 'a' }), 'boolean');
}

describe('compileFilters: hostile input', () => {
  test('any JSON value either compiles to a function or throws TC_ERR_VALIDATION', () => {
    fc.assert(fc.property(fc.jsonValue(), assertFunctionOrValidationError), { numRuns: 500 });
  });

  test('near-filters (real dialect names over random JSON, mixed with valid filters) do the same', () => {
    const dialects = fc.constantFrom('exact', 'prefix', 'suffix', 'all', 'any', 'not', 'sql', 'Exact');
    const nearFilter = fc.oneof(
      treeArb,
      fc.jsonValue({ maxDepth: 3 }),
      fc.dictionary(dialects, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 2 }),
    );
    fc.assert(fc.property(fc.array(nearFilter, { maxLength: 4 }), assertFunctionOrValidationError), { numRuns: 500 });
  });

  test('nesting far past the limit (a 700 kB JSON body) throws TC_ERR_VALIDATION, not a stack overflow', {}, () => {
    const deep = JSON.parse(`[${'{"not":'.repeat(100_000)}{"exact":{"type":"x"}}${'}'.repeat(100_000)}]`);
    const err = validationError(deep);
    assert.match(err.message, /at most 8 levels/);
  });
});

interface BadCase {
  name: string;
  filters: unknown;
  path: string;
  /** What the message must say, so that the caller knows what to change. */
  hint: RegExp;
}

const BAD_CASES: BadCase[] = [
  {
    name: 'sql dialect',
    filters: [leaf('x'), { sql: "type = 'x'" }],
    path: '/1/sql',
    hint: /"sql" is not supported; use one of exact, prefix, suffix, all, any, not/,
  },
  { name: 'unknown dialect', filters: [{ regex: { type: '.*' } }], path: '/0/regex', hint: /"regex" is not supported; use one of/ },
  { name: 'dialect in the wrong case', filters: [{ Exact: { type: 'x' } }], path: '/0/Exact', hint: /use one of exact/ },
  {
    name: 'two dialects in one object',
    filters: [{ exact: { type: 'x' }, prefix: { type: 'y' } }],
    path: '/0',
    hint: /exactly one dialect .*got 2/,
  },
  { name: 'no dialect', filters: [leaf('x'), {}], path: '/1', hint: /exactly one dialect .*got 0/ },
  { name: 'empty exact', filters: [{ exact: {} }], path: '/0/exact', hint: /map one or more attribute names to string values/ },
  { name: 'empty prefix', filters: [{ prefix: {} }], path: '/0/prefix', hint: /one or more attribute names/ },
  { name: 'empty suffix', filters: [{ suffix: {} }], path: '/0/suffix', hint: /one or more attribute names/ },
  { name: 'exact as a string', filters: [{ exact: 'com.example.x' }], path: '/0/exact', hint: /one or more attribute names/ },
  { name: 'exact as an array', filters: [{ exact: ['type'] }], path: '/0/exact', hint: /one or more attribute names/ },
  { name: 'prefix as null', filters: [{ prefix: null }], path: '/0/prefix', hint: /one or more attribute names/ },
  { name: 'number value', filters: [{ exact: { type: 1 } }], path: '/0/exact/type', hint: /must be a string/ },
  { name: 'boolean value', filters: [{ prefix: { type: 'x', flag: true } }], path: '/0/prefix/flag', hint: /must be a string/ },
  { name: 'null value', filters: [{ suffix: { type: null } }], path: '/0/suffix/type', hint: /must be a string/ },
  { name: 'object value', filters: [{ exact: { type: { eq: 'x' } } }], path: '/0/exact/type', hint: /must be a string/ },
  {
    name: 'upper-case attribute name',
    filters: [{ exact: { Type: 'x' } }],
    path: '/0/exact/Type',
    hint: /attribute name \(1-20 of a-z, 0-9\)/,
  },
  {
    name: 'attribute name with a dash',
    filters: [{ prefix: { 'da-ta': 'x' } }],
    path: '/0/prefix/da-ta',
    hint: /attribute name \(1-20 of a-z, 0-9\)/,
  },
  {
    name: 'wildcard attribute name',
    filters: [{ suffix: { '*': 'x' } }],
    path: '/0/suffix/*',
    hint: /attribute name \(1-20 of a-z, 0-9\)/,
  },
  { name: 'empty attribute name', filters: [{ exact: { '': 'x' } }], path: '/0/exact/', hint: /attribute name/ },
  {
    name: '21-character attribute name',
    filters: [{ exact: { ['a'.repeat(21)]: 'x' } }],
    path: `/0/exact/${'a'.repeat(21)}`,
    hint: /attribute name/,
  },
  { name: 'empty all', filters: [leaf('x'), { all: [] }], path: '/1/all', hint: /non-empty array of filters/ },
  { name: 'empty any', filters: [{ any: [] }], path: '/0/any', hint: /non-empty array of filters/ },
  { name: 'all as an object', filters: [{ all: leaf('x') }], path: '/0/all', hint: /non-empty array of filters/ },
  { name: 'not as an array', filters: [{ not: [leaf('x')] }], path: '/0/not', hint: /must be a filter object such as \{"exact"/ },
  { name: 'not as null', filters: [{ not: null }], path: '/0/not', hint: /must be a filter object/ },
  { name: 'object at the top level', filters: leaf('x'), path: '', hint: /must be an array of filters/ },
  { name: 'string at the top level', filters: 'type = x', path: '', hint: /must be an array of filters/ },
  { name: 'null at the top level', filters: null, path: '', hint: /must be an array of filters/ },
  { name: 'undefined at the top level', filters: undefined, path: '', hint: /must be an array of filters/ },
  { name: 'number item', filters: [leaf('x'), 1], path: '/1', hint: /must be a filter object/ },
  { name: 'string item', filters: ['exact'], path: '/0', hint: /must be a filter object/ },
  { name: 'null item', filters: [null], path: '/0', hint: /must be a filter object/ },
  { name: 'array item', filters: [[leaf('x')]], path: '/0', hint: /must be a filter object/ },
  { name: 'non-object inside all', filters: [{ all: [leaf('x'), 'y'] }], path: '/0/all/1', hint: /must be a filter object/ },
  {
    name: 'bad dialect deep inside all, any and not',
    filters: [{ all: [leaf('x'), { any: [{ not: { sql: 'true' } }] }] }],
    path: '/0/all/1/any/0/not/sql',
    hint: /"sql" is not supported/,
  },
  { name: 'bad name inside not', filters: [{ not: { exact: { Type: 'x' } } }], path: '/0/not/exact/Type', hint: /attribute name/ },
  { name: '33 filters', filters: Array.from({ length: 33 }, (_, i) => leaf(`t${i}`)), path: '', hint: /at most 32 filters/ },
];

describe('compileFilters: invalid input', () => {
  for (const c of BAD_CASES) {
    test(`${c.name}: TC_ERR_VALIDATION at "${c.path}"`, () => {
      const err = validationError(c.filters);
      assert.equal(err.details[0]?.path, c.path);
      assert.match(err.details[0]!.message, c.hint);
      // The message repeats the issue, so that a log line alone says where and what to fix.
      assert.match(err.message, /^Invalid filters: /);
      assert.ok(err.message.includes(`${c.path || '/'}: ${err.details[0]!.message}`), err.message);
    });
  }

  test('every problem is reported, each at its own path', () => {
    const err = validationError([{ sql: 'true' }, leaf('ok'), { exact: {} }, { any: [{ prefix: { Type: 'x' } }] }]);
    assert.deepEqual(
      err.details.map((d) => d.path),
      ['/0/sql', '/2/exact', '/3/any/0/prefix/Type'],
    );
  });

  test(`nesting: a filter at depth ${MAX_FILTER_DEPTH} compiles, at depth ${MAX_FILTER_DEPTH + 1} throws`, () => {
    for (const dialect of ['not', 'all', 'any'] as const) {
      assert.equal(typeof compileFilters([nest(MAX_FILTER_DEPTH - 1, dialect)]), 'function', `${dialect} at the limit`);
      const err = validationError([nest(MAX_FILTER_DEPTH, dialect)]);
      assert.match(err.message, new RegExp(`nest at most ${MAX_FILTER_DEPTH} levels deep`));
    }
    // Depth is counted per branch: a deep branch fails even next to shallow ones.
    validationError([leaf('x'), { any: [leaf('y'), nest(MAX_FILTER_DEPTH - 1, 'not')] }]);
  });

  test(`size: ${MAX_FILTER_NODES} filters in all compile, ${MAX_FILTER_NODES + 1} throw, counted across the list`, () => {
    const leaves = (n: number) => Array.from({ length: n }, (_, i) => leaf(`t${i}`));
    assert.equal(typeof compileFilters([{ all: leaves(32) }, { all: leaves(30) }]), 'function'); // 1 + 32 + 1 + 30
    assert.equal(typeof compileFilters(leaves(32).map((f) => ({ not: f }))), 'function'); // 32 × 2
    for (const filters of [
      [{ all: leaves(32) }, { all: leaves(31) }], // 65 across two top-level filters
      [{ any: [{ all: leaves(32) }, { all: leaves(30) }] }], // 65 within one
    ]) {
      const err = validationError(filters);
      assert.match(err.message, new RegExp(`at most ${MAX_FILTER_NODES} filters in all`));
    }
  });

  // The subscriptions spec (§3.2.4.1.1): "The attribute name and value specified in the filter expression MUST NOT be empty strings."
  test('an empty value in exact, prefix or suffix throws at its path', {}, () => {
    for (const dialect of ['exact', 'prefix', 'suffix']) {
      const err = validationError([{ [dialect]: { type: '' } }]);
      assert.equal(err.details[0]?.path, `/0/${dialect}/type`);
    }
  });

  test('a value over 1024 characters throws at its path, saying the limit', {}, () => {
    const err = validationError([{ exact: { type: 'x'.repeat(1025) } }]);
    assert.equal(err.details[0]?.path, '/0/exact/type');
    assert.match(err.details[0]!.message, /1024/);
  });

  test('more than 16 attributes in one map throws at the map, saying the limit', {}, () => {
    const err = validationError([{ exact: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`a${i}`, 'v'])) }]);
    assert.equal(err.details[0]?.path, '/0/exact');
    assert.match(err.details[0]!.message, /16/);
  });

  test('more than 32 filters in a nested all throws at that all', {}, () => {
    const err = validationError([{ all: Array.from({ length: 33 }, (_, i) => leaf(`t${i}`)) }]);
    assert.equal(err.details[0]?.path, '/0/all');
    assert.match(err.details[0]!.message, /at most 32/);
  });

  test('paths escape "/" and "~" in keys as RFC 6901 requires', {}, () => {
    assert.equal(validationError([{ exact: { 'a/b': 'x' } }]).details[0]?.path, '/0/exact/a~1b');
    assert.equal(validationError([{ prefix: { 'a~b': 'x' } }]).details[0]?.path, '/0/prefix/a~0b');
    assert.equal(validationError([{ 'x/y': {} }]).details[0]?.path, '/0/x~1y');
  });
});
