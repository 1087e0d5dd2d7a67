import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isStrataError } from '../errors.js';
import { ADMIN, checkCredentials, decodeCredentials, encodeCredentials, entryName, userPrincipal } from './secrets.js';

const CREDS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: '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' };
const NAME = { service: 'strata:acme', account: 'user/alice' };

describe('entryName', () => {
  it('names one entry per principal under strata:<org>, the admin apart from a user called admin', () => {
    assert.deepEqual(entryName('acme', userPrincipal('alice')), { service: 'strata:acme', account: 'user/alice' });
    assert.deepEqual(entryName('acme', userPrincipal('admin')), { service: 'strata:acme', account: 'user/admin' });
    assert.deepEqual(entryName('acme', ADMIN), { service: 'strata:acme', account: 'admin' });
    assert.deepEqual(entryName('acme.eu', userPrincipal('alice@acme.eu')), { service: 'strata:acme.eu', account: 'user/alice@acme.eu' });
  });

  it('refuses org and user ids that are not simple names', () => {
    for (const [org, user] of [['', 'alice'], ['acme/eu', 'alice'], ['acme:eu', 'alice'], ['acme', ''], ['acme', '../bob'], ['acme', 'a/b'], ['acme', '.alice'], ['acme', 'a'.repeat(129)]]) {
      assert.throws(() => entryName(org as string, userPrincipal(user as string)), (err: unknown) => isStrataError(err, 'E_USAGE'), `${org} ${user}`);
    }
  });
});

describe('encode and decode', () => {
  it('round-trips, storing exactly the two fields as JSON', () => {
    const text = encodeCredentials({ ...CREDS, extra: 'dropped' } as typeof CREDS);
    assert.deepEqual(JSON.parse(text), CREDS);
    assert.deepEqual(decodeCredentials(text, NAME), CREDS);
  });

  // [what the entry holds, the text, what the message must say]
  const garbage: [string, string, RegExp][] = [
    ['text that is not JSON', 'SECRET=hunter', /is not valid JSON/],
    ['JSON null', 'null', /is not a JSON object/],
    ['a JSON string', JSON.stringify(CREDS.secretAccessKey), /is not a JSON object/],
    ['no access key', JSON.stringify({ secretAccessKey: CREDS.secretAccessKey }), /has no accessKeyId/],
    ['an extra field', JSON.stringify({ ...CREDS, sessionToken: 'SECRETtoken' }), /unexpected field "sessionToken"/],
    ['a secret that is a number', JSON.stringify({ accessKeyId: 'AKIA', secretAccessKey: 12345 }), /secretAccessKey that is not a string/],
    ['a secret with a newline', JSON.stringify({ accessKeyId: 'AKIA', secretAccessKey: 'SECRET\n' }), /control character/],
    ['a non-ASCII secret', JSON.stringify({ accessKeyId: 'AKIA', secretAccessKey: 'SECRETé' }), /non-ASCII/],
    ['a 300-character access key', JSON.stringify({ accessKeyId: 'A'.repeat(300), secretAccessKey: 'SECRET' }), /longer than 256/],
    ['5000 characters', JSON.stringify({ ...CREDS, pad: 'SECRET'.repeat(800) }), /longer than 4096/],
  ];
  for (const [what, text, problem] of garbage) {
    it(`refuses an entry holding ${what}, naming the entry and never the secret`, () => {
      assert.throws(
        () => decodeCredentials(text, NAME),
        (err: unknown) => {
          assert.ok(isStrataError(err, 'E_BAD_CREDENTIALS'), String(err));
          assert.ok(err.message.startsWith('keychain entry strata:acme user/alice '), err.message);
          assert.match(err.message, problem);
          assert.ok(!err.message.includes('SECRET'), err.message);
          return true;
        },
      );
    });
  }
});

describe('checkCredentials', () => {
  it('accepts keys of S3-compatible servers and refuses blank or spaced ones without echoing them', () => {
    assert.deepEqual(checkCredentials({ accessKeyId: 'test:tester', secretAccessKey: 'testing' }, 'stdin'), { accessKeyId: 'test:tester', secretAccessKey: 'testing' });
    for (const bad of [{ ...CREDS, accessKeyId: '' }, { ...CREDS, secretAccessKey: 'two SECRET' }, { ...CREDS, secretAccessKey: 'SECRET\t' }]) {
      assert.throws(() => checkCredentials(bad, 'stdin'), (err: unknown) => isStrataError(err, 'E_USAGE') && err.message.startsWith('stdin: ') && !err.message.includes('SECRET'));
    }
  });
});
