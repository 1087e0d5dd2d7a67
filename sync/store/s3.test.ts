import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { describeError, isStrataError } from '../errors.js';
import { makeTestS3Store, skipWithoutS3, testS3Options } from '../testing/s3.js';
import { storeConformance } from './conformance.js';
import { RetryingStore } from './retrying.js';
import { errorFor } from './s3-errors.js';
import { S3Store } from './s3.js';

const MiB = 1024 * 1024;
// Low enough that the conformance suite's ~12 MiB object goes multipart (5 MiB is S3's minimum part).
const multipart = { multipartThreshold: 8 * MiB, partSize: 5 * MiB };

storeConformance('S3Store on the test S3 server', () => makeTestS3Store(multipart), { skip: skipWithoutS3 });

/** Record the command of every HTTP attempt the store's client makes. */
function recordRequests(store: S3Store): string[] {
  const sent: string[] = [];
  store.client.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push(context.commandName ?? '?');
      return next(args);
    },
    { step: 'deserialize', name: 'strataTestRecorder' },
  );
  return sent;
}

function zeroBody(size: number): { size: number; open: () => Readable } {
  const block = Buffer.alloc(MiB, 7);
  return {
    size,
    open: () =>
      Readable.from(
        (function* () {
          for (let left = size; left > 0; left -= block.length) yield block.subarray(0, Math.min(left, block.length));
        })(),
      ),
  };
}

describe('S3Store on the test S3 server', { skip: skipWithoutS3 }, () => {
  let fixture: Awaited<ReturnType<typeof makeTestS3Store>>;
  before(async () => {
    fixture = await makeTestS3Store(multipart);
  });
  after(async () => {
    await fixture?.cleanup();
  });

  it('uploads a body above the threshold in parts, and one below it in a single PUT', async () => {
    const sent = recordRequests(fixture.store);
    await fixture.store.put('mp/big', zeroBody(11 * MiB));
    assert.deepEqual(sent, ['CreateMultipartUploadCommand', 'UploadPartCommand', 'UploadPartCommand', 'UploadPartCommand', 'CompleteMultipartUploadCommand']);
    const back = await fixture.store.get('mp/big');
    assert.equal(back.byteLength, 11 * MiB);
    assert.ok(back.every((b) => b === 7));
    sent.length = 0;
    await fixture.store.put('mp/small', zeroBody(3 * MiB));
    assert.deepEqual(sent, ['PutObjectCommand']);
  });

  it('refuses a stream body whose length is not its declared size', async () => {
    const body = zeroBody(9 * MiB);
    await assert.rejects(fixture.store.put('mp/liar', { size: 10 * MiB, open: body.open }), (err) => isStrataError(err, 'E_PERMANENT'));
    await assert.rejects(fixture.store.put('mp/liar2', { size: MiB, open: body.open }), (err) => isStrataError(err, 'E_PERMANENT'));
    assert.equal(await fixture.store.head('mp/liar'), undefined);
  });

  it('keeps stores with different prefixes in one bucket apart', async () => {
    const other = new S3Store({ ...testS3Options(), bucket: fixture.store.bucket, prefix: 'other/' });
    await other.put('k', Buffer.from('other'));
    await fixture.store.put('k', Buffer.from('mine'));
    assert.equal(Buffer.from(await other.get('k')).toString(), 'other');
    assert.deepEqual(await collect(other.list('')), ['k']);
    assert.equal(other.location, `s3://${fixture.store.bucket}/other`);
    assert.equal(fixture.store.location, `s3://${fixture.store.bucket}/repo`);
  });

  it('never has more requests in flight than maxConcurrency', async () => {
    const store = new S3Store({ ...testS3Options(), bucket: fixture.store.bucket, maxConcurrency: 2 });
    let now = 0;
    let most = 0;
    store.client.middlewareStack.add(
      (next) => async (args) => {
        most = Math.max(most, ++now);
        try {
          return await next(args);
        } finally {
          now--;
        }
      },
      { step: 'initialize', name: 'strataTestInFlight' },
    );
    await Promise.all(Array.from({ length: 12 }, (_, i) => store.put(`conc/${i}`, Buffer.from(String(i)))));
    assert.equal(most, 2);
    assert.equal((await collect(store.list('conc/'))).length, 12);
  });

  it('createBucket is idempotent', async () => {
    await fixture.store.createBucket();
    await fixture.store.createBucket();
  });

  it('fails at once with E_AUTH on a wrong secret, in one request, with a one-line message', async () => {
    const bad = new S3Store({ ...testS3Options(), bucket: fixture.store.bucket, credentials: { accessKeyId: 'test:tester', secretAccessKey: 'wrong' } });
    const sent = recordRequests(bad);
    const err = await bad.put('x', Buffer.from('x')).then(() => undefined, (e: unknown) => e);
    assert.ok(isStrataError(err, 'E_AUTH'), describeError(err));
    assert.equal(err.key, 'x');
    assert.match(describeError(err), new RegExp(`^E_AUTH x: credentials refused by s3://${fixture.store.bucket}/repo: SignatureDoesNotMatch$`));
    assert.equal(sent.length, 1);
    // A HEAD's answer has no body, so no error name: the message gives the HTTP status instead.
    const headErr = await bad.head('x').then(() => undefined, (e: unknown) => e);
    assert.ok(isStrataError(headErr, 'E_AUTH'), describeError(headErr));
    assert.match(describeError(headErr), new RegExp(`^E_AUTH x: credentials refused by s3://${fixture.store.bucket}/repo: HTTP 403$`));
  });

  it('fails with E_AUTH for an unknown access key', async () => {
    const bad = new S3Store({ ...testS3Options(), bucket: fixture.store.bucket, credentials: { accessKeyId: 'nobody:none', secretAccessKey: 'x' } });
    // AWS says InvalidAccessKeyId; Swift's tempauth cannot tell the two apart.
    await assert.rejects(bad.get('x'), (e) => isStrataError(e, 'E_AUTH') && /InvalidAccessKeyId|SignatureDoesNotMatch/.test(e.message));
  });
});

describe('S3Store against missing things', { skip: skipWithoutS3 }, () => {
  it('says the bucket does not exist, as E_PERMANENT', async () => {
    const { store } = await makeTestS3Store({ create: false });
    for (const attempt of [() => store.put('k', Buffer.from('x')), () => store.get('k'), () => collect(store.list(''))]) {
      await assert.rejects(attempt(), (e) => isStrataError(e, 'E_PERMANENT') && e.message.includes(`bucket "${store.bucket}" does not exist`));
    }
  });

  it('test cleanup empties and removes its bucket', async () => {
    const { store, cleanup } = await makeTestS3Store({ alwaysEmpty: true });
    await Promise.all(['a', 'b/c', 'd/e/f'].map((k) => store.put(k, Buffer.from(k))));
    await cleanup();
    const again = new S3Store({ ...testS3Options(), bucket: store.bucket });
    await assert.rejects(collect(again.list('')), (e) => isStrataError(e, 'E_PERMANENT') && /does not exist/.test(e.message));
  });

  it('maps a refused connection to E_TRANSIENT, in one attempt', async () => {
    const port = await closedPort();
    const store = new S3Store({ ...testS3Options(), endpoint: `http://127.0.0.1:${port}` });
    const sent = recordRequests(store);
    await assert.rejects(store.get('k'), (e) => isStrataError(e, 'E_TRANSIENT') && e.key === 'k' && /ECONNREFUSED/.test(e.message));
    assert.equal(sent.length, 1);
  });
});

describe('S3Store error mapping', () => {
  const where = { key: 'packs/ab', op: 'GET', location: 's3://b/p', bucket: 'b' };
  const sdk = (name: string, status?: number, code?: string): unknown =>
    Object.assign(new Error(name), { name, ...(code ? { code } : {}), ...(status ? { $metadata: { httpStatusCode: status } } : {}) });
  const cases: [unknown, string][] = [
    [sdk('NoSuchKey', 404), 'E_NOT_FOUND'],
    [sdk('NotFound', 404), 'E_NOT_FOUND'],
    [sdk('NoSuchBucket', 404), 'E_PERMANENT'],
    [sdk('InvalidAccessKeyId', 403), 'E_AUTH'],
    [sdk('SignatureDoesNotMatch', 403), 'E_AUTH'],
    [sdk('AccessDenied', 403), 'E_AUTH'],
    [sdk('Unauthorized', 401), 'E_AUTH'],
    [sdk('InvalidRange', 416), 'E_BAD_RANGE'],
    [sdk('InternalError', 500), 'E_TRANSIENT'],
    [sdk('ServiceUnavailable', 503), 'E_TRANSIENT'],
    [sdk('SlowDown', 503), 'E_TRANSIENT'],
    [sdk('TooManyRequests', 429), 'E_TRANSIENT'],
    [sdk('TimeoutError'), 'E_TRANSIENT'],
    [sdk('Error', undefined, 'ECONNRESET'), 'E_TRANSIENT'],
    [sdk('Error', undefined, 'EPIPE'), 'E_TRANSIENT'],
    [sdk('NotImplemented', 501), 'E_PERMANENT'],
    [sdk('Error', 501), 'E_PERMANENT'],
    [sdk('HttpVersionNotSupported', 505), 'E_PERMANENT'],
    [sdk('InvalidArgument', 400), 'E_PERMANENT'],
    [sdk('EntityTooSmall', 400), 'E_PERMANENT'],
    [new Error('something odd'), 'E_PERMANENT'],
  ];
  for (const [err, code] of cases) {
    it(`${(err as Error).name} ${(err as { code?: string }).code ?? ''} → ${code}`, () => {
      const mapped = errorFor(err, where);
      assert.equal(mapped.code, code);
      assert.equal(mapped.key, 'packs/ab');
      assert.equal(mapped.cause, err);
      assert.doesNotMatch(mapped.toString(), /\n/);
    });
  }
});

describe('S3Store against a server that does not implement a request', () => {
  it('fails at once on 501 Not Implemented (Swift on a conditional PUT), never retrying it', async (t) => {
    let requests = 0;
    const server = createHttpServer((req, res) => {
      requests++;
      req.resume();
      req.on('end', () => {
        res.writeHead(501, { 'content-type': 'application/xml' });
        res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>NotImplemented</Code><Message>A header you provided implies functionality that is not implemented.</Message></Error>');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const address = server.address();
    assert.ok(address && typeof address === 'object');
    const s3 = new S3Store({ region: 'us-east-1', bucket: 'b', prefix: 'p', pathStyle: true, endpoint: `http://127.0.0.1:${address.port}`, credentials: { accessKeyId: 'a', secretAccessKey: 's' } });
    const retries: unknown[] = [];
    const store = new RetryingStore(s3, { sleep: async () => undefined, onRetry: (err) => retries.push(err) });
    await assert.rejects(store.put('k', Buffer.from('x')), (e) => isStrataError(e, 'E_PERMANENT') && e.key === 'k' && /501/.test(e.message) && /not implement/i.test(e.message));
    assert.deepEqual(retries, []);
    assert.equal(requests, 1);
  });
});

describe('S3Store without a server', () => {
  it('rejects invalid ranges before sending anything', async () => {
    const store = new S3Store({ region: 'us-east-1', bucket: 'b', prefix: '', pathStyle: true, endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'a', secretAccessKey: 's' } });
    assert.equal(store.location, 's3://b');
    for (const range of [{ offset: -1, length: 1 }, { offset: 0, length: 0 }, { offset: 1.5, length: 2 }]) {
      await assert.rejects(store.get('k', range), (e) => isStrataError(e, 'E_BAD_RANGE'));
    }
    await assert.rejects(store.get('../k'), (e) => isStrataError(e, 'E_BAD_KEY'));
  });

  it('fails a listing whose continuation token never advances, instead of listing forever', async () => {
    const store = new S3Store({ region: 'us-east-1', bucket: 'b', prefix: 'p', pathStyle: true, endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'a', secretAccessKey: 's' } });
    let pages = 0;
    // A server that answers every page with "more to come", no keys, and the same token.
    store.client.middlewareStack.add(
      () => async () => {
        // A real page is a network round trip; end a stuck listing's test rather than the machine.
        if (++pages > 100) throw new Error(`listed ${pages} pages of nothing`);
        return { output: { $metadata: {}, IsTruncated: true, NextContinuationToken: 'again', Contents: pages === 1 ? [{ Key: 'p/data/a', Size: 1 }] : [] }, response: {} };
      },
      { step: 'initialize', name: 'strataTestStuckListing' },
    );
    const listing = collect(store.list('data/')).then(
      (keys) => ({ keys }),
      (err: unknown) => ({ err }),
    );
    const settled = await listing;
    assert.ok('err' in settled && isStrataError(settled.err, 'E_PERMANENT'), JSON.stringify(settled));
    assert.equal(settled.err.key, 'data/');
    assert.ok(pages <= 3, `${pages} pages`);
  });
});

async function collect(it: AsyncIterable<{ key: string }>): Promise<string[]> {
  const keys: string[] = [];
  for await (const { key } of it) keys.push(key);
  return keys;
}

/** A loopback port that nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(address && typeof address === 'object');
  return address.port;
}
