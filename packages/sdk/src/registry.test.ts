import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import Type from 'typebox';
import { TenantcastError } from './errors.ts';
import { createRegistry, defaultRegistry, isJsonContentType, type ValidationResult } from './registry.ts';
import { WebIntegrationTypes } from './schemas/web-integration.ts';
import { isTenantId, TENANT_ID_PATTERN } from './tenant-id.ts';

// The three example payloads of Qlik's event catalog, copied from /work/shared/seeds/web-integration-events.txt.
const SEED_CREATED = {
  id: 'A234-1234-1234',
  time: '2026-01-01T12:00:00Z',
  type: 'com.qlik.web-integration.created',
  source: 'com.qlik/my-service',
  specversion: '1.0',
  datacontenttype: 'application/json',
  userid: 'UZhiEfgW2bLd7HgR-jjzAh6VnicipweT',
  tenantid: 'VZhiEfgW2bLd7HgR-jjzAh6VnicipweT',
  data: {
    id: 'id123',
    name: 'Api client 1',
    validOrigins: ['http://unicorn.com', 'http://foo.example'],
  },
};

const SEED_DELETED = {
  id: 'A234-1234-1234',
  time: '2026-01-01T12:00:00Z',
  type: 'com.qlik.web-integration.deleted',
  source: 'com.qlik/my-service',
  specversion: '1.0',
  datacontenttype: 'application/json',
  userid: 'UZhiEfgW2bLd7HgR-jjzAh6VnicipweT',
  tenantid: 'VZhiEfgW2bLd7HgR-jjzAh6VnicipweT',
  data: {
    id: 'id123',
  },
};

const SEED_UPDATED = {
  id: 'A234-1234-1234',
  time: '2026-01-01T12:00:00Z',
  type: 'com.qlik.web-integration.updated',
  source: 'com.qlik/my-service',
  specversion: '1.0',
  datacontenttype: 'application/json',
  userid: 'UZhiEfgW2bLd7HgR-jjzAh6VnicipweT',
  tenantid: 'VZhiEfgW2bLd7HgR-jjzAh6VnicipweT',
  data: {
    id: 'id123',
    updates: [
      {
        newValue: 'Web Integration 2',
        oldValue: 'Web Integration 1',
        property: 'name',
      },
    ],
  },
};

const SEEDS = { created: SEED_CREATED, updated: SEED_UPDATED, deleted: SEED_DELETED } as const;

/** An event of a type no registry knows, so only the envelope is checked. */
const UNKNOWN = {
  id: 'evt-1',
  source: 'com.example/tests',
  specversion: '1.0',
  type: 'com.example.something.happened',
  tenantid: 'acme',
};

/** The tenant id rule as the brief states it, kept apart from the SDK's own constant on purpose. */
const TENANT_RE = /^[A-Za-z0-9._-]{1,128}$/;

/** The JSON Pointer paths of a failed result; fails the test when the result is ok. */
function pathsOf(result: ValidationResult<unknown>): string[] {
  assert.equal(result.ok, false, 'expected validation to fail');
  return result.ok ? [] : result.issues.map((i) => i.path);
}

function without<T extends object>(value: T, key: string): Record<string, unknown> {
  const copy = { ...value } as Record<string, unknown>;
  delete copy[key];
  return copy;
}

describe('Qlik web-integration catalog', () => {
  const registry = createRegistry();

  for (const [name, seed] of Object.entries(SEEDS)) {
    test(`the catalog's "${name}" example validates`, () => {
      const result = registry.validate(seed);
      assert.equal(result.ok, true, JSON.stringify(result));
      assert.ok(result.ok);
      assert.deepEqual(result.event, seed);
    });

    test(`the "${name}" example validates under its com.qlik.core.* type as well`, () => {
      const coreType = seed.type.replace('com.qlik.', 'com.qlik.core.');
      assert.ok((WebIntegrationTypes as Record<string, readonly string[]>)[name]?.includes(coreType));
      const result = registry.validate({ ...seed, type: coreType });
      assert.equal(result.ok, true, JSON.stringify(result));
    });
  }

  test('both type families are registered, and the strict registry accepts them', () => {
    const strict = createRegistry({ strict: true });
    for (const types of Object.values(WebIntegrationTypes)) {
      for (const type of types) {
        assert.ok(registry.has(type), type);
        assert.ok(defaultRegistry.has(type), type);
      }
    }
    for (const seed of Object.values(SEEDS)) {
      assert.equal(strict.validate(seed).ok, true);
      assert.equal(strict.validate({ ...seed, type: seed.type.replace('com.qlik.', 'com.qlik.core.') }).ok, true);
    }
  });

  test('a core-family event is held to its data schema too', () => {
    const result = registry.validate({ ...SEED_CREATED, type: 'com.qlik.core.web-integration.created', data: { id: 'x', name: 'y' } });
    assert.deepEqual(pathsOf(result), ['/data/validOrigins']);
  });
});

describe('envelope', () => {
  const registry = createRegistry();

  for (const attribute of ['id', 'source', 'type', 'specversion', 'tenantid']) {
    test(`a missing "${attribute}" fails at /${attribute}`, () => {
      assert.deepEqual(pathsOf(registry.validate(without(SEED_CREATED, attribute))), [`/${attribute}`]);
      assert.deepEqual(pathsOf(registry.validate(without(UNKNOWN, attribute))), [`/${attribute}`]);
    });
  }

  test('each missing attribute gets an issue of its own', () => {
    const result = registry.validate({ source: 'x', specversion: '1.0', type: 'com.example.a' });
    assert.deepEqual(pathsOf(result).sort(), ['/id', '/tenantid']);
  });

  test('an empty id, source or type fails at its path', () => {
    for (const attribute of ['id', 'source', 'type']) {
      assert.deepEqual(pathsOf(registry.validate({ ...UNKNOWN, [attribute]: '' })), [`/${attribute}`]);
    }
  });

  for (const time of ['yesterday', '2026-01-01', '2026-01-01T12:00:00', '2026-13-01T00:00:00Z', '2026-02-30T00:00:00Z', '1767268800', '']) {
    test(`time ${JSON.stringify(time)} is not RFC 3339 and fails at /time`, () => {
      assert.deepEqual(pathsOf(registry.validate({ ...SEED_DELETED, time })), ['/time']);
    });
  }

  test('RFC 3339 times with fractions and offsets pass', () => {
    for (const time of ['2026-01-01T12:00:00Z', '2026-01-01T12:00:00.123Z', '2026-01-01T12:00:00.5-05:30', '2026-06-30T23:59:59+14:00']) {
      assert.equal(registry.validate({ ...SEED_DELETED, time }).ok, true, time);
    }
  });

  for (const specversion of ['0.3', '1', '1.0.0', '2.0', 1.0]) {
    test(`specversion ${JSON.stringify(specversion)} (${typeof specversion}) fails at /specversion`, () => {
      assert.deepEqual([...new Set(pathsOf(registry.validate({ ...SEED_DELETED, specversion })))], ['/specversion']);
    });
  }

  test('values that are not objects fail at the root', () => {
    for (const value of [null, 'event', 42, [SEED_DELETED]]) {
      assert.deepEqual(pathsOf(registry.validate(value)), ['']);
    }
  });

  test('data_base64 must be base64', () => {
    for (const bad of ['!!!notbase64', 'abc', 'ab=c']) {
      assert.deepEqual(pathsOf(registry.validate({ ...UNKNOWN, data_base64: bad })), ['/data_base64'], bad);
    }
    for (const good of ['', 'YQ==', 'YWI=', 'YWJj']) assert.equal(registry.validate({ ...UNKNOWN, data_base64: good }).ok, true, good);
  });

  test('data together with data_base64 fails', () => {
    const result = registry.validate({ ...UNKNOWN, data: { a: 1 }, data_base64: 'eyJhIjoxfQ==' });
    assert.deepEqual(pathsOf(result), ['/data_base64']);
    assert.equal(registry.validate({ ...UNKNOWN, data_base64: 'eyJhIjoxfQ==' }).ok, true);
  });

  test('scalar extension attributes with lower-case names pass', () => {
    const result = registry.validate({
      ...UNKNOWN,
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      retries: 3,
      sampled: true,
    });
    assert.equal(result.ok, true, JSON.stringify(result));
  });

  for (const [name, value] of [
    ['an object', { nested: true }],
    ['an array', ['a']],
    ['a non-integer number', 1.5],
    ['null', null],
  ] as const) {
    test(`an extension attribute holding ${name} fails at its path`, () => {
      assert.ok(pathsOf(registry.validate({ ...UNKNOWN, myext: value })).includes('/myext'));
    });
  }

  for (const name of ['myExt', 'MYEXT', 'my-ext', 'my_ext', 'a'.repeat(21)]) {
    test(`extension name ${JSON.stringify(name)} is refused`, () => {
      assert.ok(pathsOf(registry.validate({ ...UNKNOWN, [name]: 'x' })).includes(`/${name}`));
    });
  }
});

describe('tenant ids', () => {
  const registry = createRegistry();

  test("the SDK's pattern is the documented one", () => {
    assert.equal(TENANT_ID_PATTERN, TENANT_RE.source);
  });

  test('any string matching ^[A-Za-z0-9._-]{1,128}$ validates as tenantid', () => {
    fc.assert(
      fc.property(fc.stringMatching(TENANT_RE), (tenantid) => {
        const result = registry.validate({ ...SEED_DELETED, tenantid });
        assert.equal(result.ok, true, JSON.stringify(result));
        assert.equal(isTenantId(tenantid), true);
      }),
    );
  });

  test('any string not matching ^[A-Za-z0-9._-]{1,128}$ fails at /tenantid', () => {
    const forbidden = fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }).filter((s) => !TENANT_RE.test(s));
    const near = fc
      .tuple(fc.stringMatching(/^[A-Za-z0-9._-]{0,60}$/), forbidden, fc.stringMatching(/^[A-Za-z0-9._-]{0,60}$/))
      .map(([a, bad, b]) => a + bad + b);
    const tooLong = fc.stringMatching(/^[A-Za-z0-9._-]{129,300}$/);
    const anything = fc.string({ unit: 'binary', maxLength: 140 });
    fc.assert(
      fc.property(
        fc.oneof(near, tooLong, anything, fc.constantFrom('', 'acme\n', ' acme', 'a:b', '{acme}', 'ac*me', 'acme/1')),
        (tenantid) => {
          fc.pre(!TENANT_RE.test(tenantid));
          assert.deepEqual(pathsOf(registry.validate({ ...SEED_DELETED, tenantid })), ['/tenantid']);
          assert.equal(isTenantId(tenantid), false);
        },
      ),
    );
  });

  test('validation agrees with the rule for arbitrary strings', () => {
    fc.assert(
      fc.property(fc.oneof(fc.stringMatching(TENANT_RE), fc.string({ unit: 'grapheme', maxLength: 130 })), (tenantid) => {
        assert.equal(registry.validate({ ...UNKNOWN, tenantid }).ok, TENANT_RE.test(tenantid));
      }),
    );
  });

  test('a tenantid that is not a string fails at /tenantid', () => {
    for (const tenantid of [42, true, ['acme'], { id: 'acme' }]) {
      assert.deepEqual(pathsOf(registry.validate({ ...UNKNOWN, tenantid })), ['/tenantid']);
    }
  });
});

describe('data of known types', () => {
  const registry = createRegistry();

  const cases: Array<[string, object, string[]]> = [
    [
      'a non-string origin',
      { ...SEED_CREATED, data: { ...SEED_CREATED.data, validOrigins: ['http://ok.example', 42] } },
      ['/data/validOrigins/1'],
    ],
    ['a first non-string origin', { ...SEED_CREATED, data: { ...SEED_CREATED.data, validOrigins: [null] } }, ['/data/validOrigins/0']],
    [
      'origins that are not an array',
      { ...SEED_CREATED, data: { ...SEED_CREATED.data, validOrigins: 'http://a.example' } },
      ['/data/validOrigins'],
    ],
    ['a missing name', { ...SEED_CREATED, data: without(SEED_CREATED.data, 'name') }, ['/data/name']],
    ['a numeric id on delete', { ...SEED_DELETED, data: { id: 123 } }, ['/data/id']],
    [
      'an update whose property is not a string',
      { ...SEED_UPDATED, data: { id: 'x', updates: [{ property: 5 }] } },
      ['/data/updates/0/property'],
    ],
    ['updates missing', { ...SEED_UPDATED, data: { id: 'x' } }, ['/data/updates']],
    ['no data at all', without(SEED_DELETED, 'data'), ['/data']],
  ];
  for (const [name, event, paths] of cases) {
    test(`${name} fails at ${paths.join(', ')}`, () => {
      assert.deepEqual(pathsOf(registry.validate(event)), paths);
    });
  }

  test('a known type with non-JSON data fails at /datacontenttype', () => {
    assert.deepEqual(pathsOf(registry.validate({ ...SEED_DELETED, datacontenttype: 'text/plain' })), ['/datacontenttype']);
    const { data: _, ...binary } = SEED_DELETED;
    assert.deepEqual(pathsOf(registry.validate({ ...binary, data_base64: 'eyJpZCI6IngifQ==' })), ['/datacontenttype']);
  });

  test('JSON content types with parameters or +json suffixes are JSON', () => {
    assert.equal(isJsonContentType(undefined), true);
    assert.equal(isJsonContentType('application/json; charset=utf-8'), true);
    assert.equal(isJsonContentType('Application/JSON'), true);
    assert.equal(isJsonContentType('application/cloudevents+json'), true);
    assert.equal(isJsonContentType('text/json'), true);
    assert.equal(isJsonContentType('text/plain'), false);
    assert.equal(isJsonContentType('application/octet-stream'), false);
    assert.equal(registry.validate({ ...SEED_DELETED, datacontenttype: 'application/json; charset=utf-8' }).ok, true);
  });
});

describe('unknown types and strict mode', () => {
  test('an unknown type passes with envelope validation only', () => {
    const registry = createRegistry();
    for (const data of [undefined, 42, 'text', { anything: [1, 2] }]) {
      const result = registry.validate({ ...UNKNOWN, data });
      assert.equal(result.ok, true, JSON.stringify(result));
    }
    assert.deepEqual(pathsOf(registry.validate({ ...UNKNOWN, tenantid: 'no spaces allowed' })), ['/tenantid']);
  });

  test('a strict registry refuses an unknown type at /type', () => {
    const strict = createRegistry({ strict: true });
    assert.equal(strict.strict, true);
    const result = strict.validate(UNKNOWN);
    assert.deepEqual(pathsOf(result), ['/type']);
    assert.ok(!result.ok && result.issues[0]?.message.includes(UNKNOWN.type));
  });

  test('the default registry is not strict', () => {
    assert.equal(defaultRegistry.strict, false);
    assert.equal(defaultRegistry.validate(UNKNOWN).ok, true);
  });
});

describe('user-registered types', () => {
  const OrderPlaced = Type.Object({ orderId: Type.String({ minLength: 1 }), quantity: Type.Integer({ minimum: 1 }) });
  const order = { ...UNKNOWN, type: 'com.example.order.placed', data: { orderId: 'o-1', quantity: 2 } };

  test('their data is validated, with paths under /data', () => {
    const registry = createRegistry().register('com.example.order.placed', OrderPlaced);
    assert.ok(registry.has('com.example.order.placed'));
    assert.ok(registry.types().includes('com.example.order.placed'));
    assert.equal(registry.validate(order).ok, true);
    assert.deepEqual(pathsOf(registry.validate({ ...order, data: { orderId: 'o-1', quantity: 0 } })), ['/data/quantity']);
    assert.deepEqual(pathsOf(registry.validate({ ...order, data: { quantity: 1 } })), ['/data/orderId']);
  });

  test('a strict registry accepts a registered type', () => {
    const strict = createRegistry({ strict: true });
    assert.deepEqual(pathsOf(strict.validate(order)), ['/type']);
    strict.register('com.example.order.placed', OrderPlaced);
    assert.equal(strict.validate(order).ok, true);
  });

  test('registering on one registry leaves the others alone', () => {
    createRegistry().register('com.example.order.placed', OrderPlaced);
    assert.equal(defaultRegistry.has('com.example.order.placed'), false);
    assert.equal(defaultRegistry.validate({ ...order, data: 'not an order' }).ok, true);
  });

  test('registering the same type twice throws TC_ERR_TYPE_REGISTERED', () => {
    const registry = createRegistry().register('com.example.order.placed', OrderPlaced);
    assert.throws(
      () => registry.register('com.example.order.placed', Type.Object({})),
      (error: unknown) =>
        error instanceof TenantcastError && error.code === 'TC_ERR_TYPE_REGISTERED' && error.message.includes('com.example.order.placed'),
    );
    assert.throws(
      () => createRegistry().register('com.qlik.web-integration.created', Type.Object({})),
      (error: unknown) => error instanceof TenantcastError && error.code === 'TC_ERR_TYPE_REGISTERED',
    );
    // The first schema stays in force.
    assert.deepEqual(pathsOf(registry.validate({ ...order, data: {} })).sort(), ['/data/orderId', '/data/quantity']);
  });
});

describe('validateBatch and parse', () => {
  const registry = createRegistry();

  test('every issue of a batch carries the index of its event', () => {
    const batch = [
      SEED_CREATED,
      without(SEED_DELETED, 'tenantid'),
      SEED_UPDATED,
      { ...SEED_CREATED, data: { ...SEED_CREATED.data, validOrigins: [7] } },
    ];
    const result = registry.validateBatch(batch);
    assert.equal(result.ok, false);
    assert.ok(!result.ok);
    assert.deepEqual(
      result.issues.map(({ index, path }) => ({ index, path })),
      [
        { index: 1, path: '/tenantid' },
        { index: 3, path: '/data/validOrigins/0' },
      ],
    );
  });

  test('a valid batch comes back whole', () => {
    const batch = [SEED_CREATED, SEED_DELETED, UNKNOWN];
    const result = registry.validateBatch(batch);
    assert.ok(result.ok);
    assert.deepEqual(result.event, batch);
  });

  test('the issues of a huge bad batch are bounded', () => {
    const bad = Array.from({ length: 500 }, () => without(UNKNOWN, 'id'));
    const result = registry.validateBatch(bad);
    assert.ok(!result.ok);
    assert.ok(result.issues.length > 0 && result.issues.length < bad.length);
    assert.ok(result.issues.every((issue, i) => issue.index === i));
  });

  test('parse returns a valid event and throws TC_ERR_VALIDATION with details otherwise', () => {
    assert.deepEqual(registry.parse(SEED_UPDATED), SEED_UPDATED);
    assert.throws(
      () => registry.parse({ ...SEED_CREATED, time: 'noon' }),
      (error: unknown) =>
        error instanceof TenantcastError &&
        error.code === 'TC_ERR_VALIDATION' &&
        error.details.some((d) => d.path === '/time') &&
        error.message.includes('/time'),
    );
  });
});
