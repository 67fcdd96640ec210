import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isOriginAllowed } from './origin-policy.ts';

// The policy's origin matching. The policy at the upgrade, with the origins the relay learns from
// web-integration events, is tested through the relay in tests/gateway/upgrade/origin-policy.test.ts.

describe('isOriginAllowed', () => {
  const cases: Array<[string, string[], boolean, string]> = [
    ['https://app.example', ['https://app.example'], true, 'an entry equal to the origin'],
    ['http://app.example', ['https://app.example'], false, 'another scheme'],
    ['https://app.example:8443', ['https://app.example'], false, 'another port'],
    ['https://app.example:8443', ['https://app.example:8443'], true, 'the same explicit port'],
    ['https://app.example', ['https://app.example:443'], true, 'the default port, explicit in the entry'],
    ['https://app.example:443', ['https://app.example'], true, 'the default port, explicit in the origin'],
    ['https://app.example', ['app.example'], true, 'a bare host name'],
    ['http://app.example:3000', ['app.example'], true, 'a bare host name, any scheme and port'],
    ['https://sub.app.example', ['app.example'], false, 'a bare host name does not cover subdomains'],
    ['https://app.example.evil.example', ['app.example'], false, 'a bare host name is not a prefix'],
    ['https://evilapp.example', ['app.example'], false, 'a bare host name is not a suffix'],
    ['https://APP.Example', ['https://app.EXAMPLE'], true, 'case, scheme and host'],
    ['HTTPS://app.example', ['https://app.example'], true, 'case of the scheme'],
    ['https://app.example', ['APP.EXAMPLE'], true, 'case of a bare host name'],
    ['https://app.example', ['https://app.example/'], true, 'a trailing slash on the entry'],
    ['https://app.example', ['https://app.example///'], true, 'several trailing slashes'],
    ['https://app.example', ['app.example/'], true, 'a trailing slash on a bare host name'],
    ['https://app.example/', ['https://app.example'], true, 'a trailing slash on the origin'],
    ['https://app.example', ['  https://app.example  '], true, 'whitespace around the entry'],
    ['https://app.example', ['', 'https://other.example', 'https://app.example'], true, 'any entry of several'],
    ['https://app.example', [], false, 'no entries'],
    ['https://app.example', [''], false, 'an empty entry'],
    ['https://app.example', ['https://'], false, 'an entry that is not a URL'],
    ['null', ['https://app.example', 'null'], false, 'the opaque origin "null"'],
    ['', ['app.example'], false, 'an empty origin'],
    ['app.example', ['app.example'], false, 'an origin without a scheme'],
    ['http://localhost:5173', ['localhost'], true, 'localhost, bare'],
    ['http://127.0.0.1:8080', ['http://127.0.0.1:8080'], true, 'an IP address with its port'],
  ];
  for (const [origin, allowed, expected, label] of cases) {
    test(`${label}: ${JSON.stringify(origin)} against ${JSON.stringify(allowed)} → ${expected}`, () => {
      assert.equal(isOriginAllowed(origin, allowed), expected);
    });
  }

  test('any web origin is allowed by itself, by its host name, and by neither of two others', () => {
    fc.assert(
      fc.property(fc.webUrl(), fc.webUrl(), (url, other) => {
        const { origin, hostname } = new URL(url);
        assert.equal(isOriginAllowed(origin, [origin]), true);
        assert.equal(isOriginAllowed(origin, [hostname]), true);
        const o = new URL(other);
        if (o.origin !== origin && o.hostname !== hostname) assert.equal(isOriginAllowed(origin, [o.origin, o.hostname]), false);
      }),
      { numRuns: 200 },
    );
  });
});
