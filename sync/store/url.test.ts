import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isStrataError } from '../errors.js';
import { DirStore } from './dir.js';
import { MemoryStore } from './memory.js';
import { S3Store } from './s3.js';
import { openStore, parseStoreUrl } from './url.js';

const creds = { AWS_ACCESS_KEY_ID: 'AKID', AWS_SECRET_ACCESS_KEY: 'SECRET' };

function usageError(pattern: RegExp) {
  return (err: unknown): boolean => isStrataError(err, 'E_USAGE') && pattern.test(err.message);
}

describe('store URLs', () => {
  it('parses an s3:// URL with endpoint, region and path style', () => {
    const spec = parseStoreUrl('s3://my-bucket/strata/prod?endpoint=http://127.0.0.1:8080&region=eu-west-1&pathStyle=true', creds);
    assert.deepEqual(spec, {
      kind: 's3',
      options: {
        endpoint: 'http://127.0.0.1:8080',
        region: 'eu-west-1',
        bucket: 'my-bucket',
        prefix: 'strata/prod',
        pathStyle: true,
        credentials: { accessKeyId: 'AKID', secretAccessKey: 'SECRET' },
      },
    });
  });

  it('defaults: region from the environment, then us-east-1; path style only with an endpoint', () => {
    const aws = parseStoreUrl('s3://bucket', { ...creds, AWS_REGION: 'ap-south-1' });
    assert.ok(aws.kind === 's3');
    assert.equal(aws.options.region, 'ap-south-1');
    assert.equal(aws.options.pathStyle, false);
    assert.equal(aws.options.prefix, '');
    assert.equal(aws.options.endpoint, undefined);
    const local = parseStoreUrl('s3://bucket/p/?endpoint=https://s3.local', creds);
    assert.ok(local.kind === 's3');
    assert.equal(local.options.region, 'us-east-1');
    assert.equal(local.options.pathStyle, true);
    assert.equal(local.options.prefix, 'p');
  });

  it('passes a session token and maxConcurrency through', () => {
    const spec = parseStoreUrl('s3://bucket/p?maxConcurrency=3&pathStyle=false', { ...creds, AWS_SESSION_TOKEN: 'TOKEN' });
    assert.ok(spec.kind === 's3');
    assert.deepEqual(spec.options.credentials, { accessKeyId: 'AKID', secretAccessKey: 'SECRET', sessionToken: 'TOKEN' });
    assert.equal(spec.options.maxConcurrency, 3);
    assert.equal(spec.options.pathStyle, false);
  });

  it('opens each kind of store', () => {
    const s3 = openStore('s3://bucket/a/b?endpoint=http://127.0.0.1:9', creds);
    assert.ok(s3 instanceof S3Store);
    assert.equal(s3.location, 's3://bucket/a/b');
    const dir = openStore('file:///srv/strata/repo', {});
    assert.ok(dir instanceof DirStore);
    assert.equal(dir.location, 'file:///srv/strata/repo');
    assert.ok(openStore('memory:', {}) instanceof MemoryStore);
  });

  it('asks for credentials when the environment has none', () => {
    assert.throws(() => openStore('s3://bucket/p', {}), usageError(/AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/));
    assert.throws(() => openStore('s3://bucket/p', { AWS_ACCESS_KEY_ID: 'x' }), usageError(/needs credentials/));
  });

  it('refuses credentials in the URL without repeating them', () => {
    assert.throws(
      () => openStore('s3://AKID:hunter2@bucket/p', creds),
      (err: unknown) => usageError(/must not contain credentials/)(err) && !String((err as Error).message).includes('hunter2'),
    );
  });

  const invalid: [string, RegExp][] = [
    ['', /not a store URL/],
    ['bucket/prefix', /not a store URL/],
    ['/abs/path', /not a store URL/],
    ['http://example.com/x', /unsupported store URL scheme "http:"/],
    ['gs://bucket/x', /unsupported store URL scheme/],
    ['s3:///prefix', /not a valid bucket name/],
    ['s3://Upper_Case/x', /not a valid bucket name/],
    ['s3://ab/x', /not a valid bucket name/],
    ['s3://bucket:9000/x', /endpoint=http/],
    ['s3://bucket/a/../b', /'\.\.'/],
    ['s3://bucket/a//b', /empty/],
    ['s3://bucket/x?region=us-east-1&endpiont=http://h', /unknown option "endpiont"/],
    ['s3://bucket/x?endpoint=127.0.0.1:8080', /is not a URL/],
    ['s3://bucket/x?endpoint=ftp://h', /must be http/],
    ['s3://bucket/a/%2E%2E/b', /'\.\.'/],
    ['s3://bucket/./b', /'\.'/],
    ['s3://bucket/x?endpoint=nonsense', /is not a URL/],
    ['s3://bucket/x?pathStyle=yes', /pathStyle must be true or false/],
    ['s3://bucket/x?maxConcurrency=0', /positive integer/],
    ['s3://bucket/x?maxConcurrency=2.5', /positive integer/],
    ['s3://bucket/x#frag', /fragment/],
    ['file://server/share', /on this machine/],
    ['file:///srv/x?y=1', /no query/],
    ['memory:named', /memory:/],
  ];
  for (const [url, pattern] of invalid) {
    it(`rejects "${url}" with E_USAGE`, () => {
      assert.throws(() => openStore(url, creds), usageError(pattern));
    });
  }
});
