import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ClaimsMapping, DEFAULT_CLAIMS_MAPPING, mapClaims } from './claims-mapping.ts';

const map = (payload: Record<string, unknown>, mapping: Partial<ClaimsMapping> = {}) =>
  mapClaims({ sub: 'user-1', ...payload }, { ...DEFAULT_CLAIMS_MAPPING, ...mapping });

function refused(message: RegExp) {
  return (error: unknown): boolean => {
    const e = error as { code: string; message: string };
    assert.equal(e.code, 'TC_ERR_TOKEN_INVALID', e.message);
    assert.match(e.message, message);
    return true;
  };
}

describe('claims mapping (AUTH_TENANTS_CLAIM, AUTH_SCOPE_CLAIM, AUTH_DEFAULT_SCOPE)', () => {
  test('tenants from a namespaced claim, as a string or an array', () => {
    const claim = 'https://qlik.example/tenants';
    assert.deepEqual(map({ [claim]: 'acme' }, { tenantsClaim: claim }).tenants, new Set(['acme']));
    assert.deepEqual(map({ [claim]: ['acme', 'globex'] }, { tenantsClaim: claim }).tenants, new Set(['acme', 'globex']));
  });

  test('tenants from a dotted path into nested claims (org_id, app_metadata.tenants)', () => {
    assert.deepEqual(map({ org_id: 'org_42' }, { tenantsClaim: 'org_id' }).tenants, new Set(['org_42']));
    assert.deepEqual(map({ app_metadata: { tenants: ['acme'] } }, { tenantsClaim: 'app_metadata.tenants' }).tenants, new Set(['acme']));
  });

  test('a tenants claim missing, of the wrong type, or not a tenant id is refused, naming AUTH_TENANTS_CLAIM', () => {
    assert.throws(() => map({}), refused(/lacks the tenants claim "tenants" \(AUTH_TENANTS_CLAIM\)/));
    for (const tenants of [42, { acme: true }, [1, 2], [], ['acme', null], 'has space', ['a/b']]) {
      assert.throws(
        () => map({ tenants }),
        refused(/"tenants" \(AUTH_TENANTS_CLAIM\) must be a tenant id or an array/),
        JSON.stringify(tenants),
      );
    }
  });

  test('scopes: a space-separated string or an array; tenantcast: prefixes accepted; unknown values ignored', () => {
    assert.deepEqual([...map({ tenants: 'a', scope: 'openid publish profile' }).scopes], ['publish']);
    assert.deepEqual([...map({ tenants: 'a', roles: ['tenantcast:subscribe', 'reader'] }, { scopeClaim: 'roles' }).scopes], ['subscribe']);
    assert.deepEqual([...map({ tenants: 'a', scp: 'tenantcast:publish tenantcast:admin' }, { scopeClaim: 'scp' }).scopes].sort(), [
      'admin',
      'publish',
    ]);
  });

  test('a token with none of tenantcast scopes gets AUTH_DEFAULT_SCOPE (subscribe by default; none when empty)', () => {
    assert.deepEqual([...map({ tenants: 'a', scope: 'openid profile' }).scopes], ['subscribe']);
    assert.deepEqual([...map({ tenants: 'a' }).scopes], ['subscribe']);
    assert.deepEqual([...map({ tenants: 'a' }, { defaultScopes: [] }).scopes], []);
  });

  test('a bare "admin" value is not tenantcast admin: only tenantcast:admin is', () => {
    assert.deepEqual([...map({ tenants: 'a', scope: 'admin' }).scopes], ['subscribe']);
    assert.ok(map({ tenants: 'a', scope: 'tenantcast:admin' }).scopes.has('admin'));
  });

  test('every tenant ("*") only beside tenantcast:admin: no mapping alone grants it', () => {
    assert.throws(() => map({ tenants: ['*'], scope: 'publish subscribe' }), refused(/tenantcast:admin/));
    assert.throws(() => map({ tenants: '*', scope: 'admin' }), refused(/tenantcast:admin/));
    assert.equal(map({ tenants: ['*'], scope: 'tenantcast:admin subscribe' }).tenants, '*');
  });

  test('a scope claim of the wrong type is refused; a missing sub is refused', () => {
    assert.throws(() => map({ tenants: 'a', scope: 7 }), refused(/"scope" \(AUTH_SCOPE_CLAIM\)/));
    assert.throws(() => mapClaims({ tenants: 'a' }, DEFAULT_CLAIMS_MAPPING), refused(/"sub"/));
  });
});
