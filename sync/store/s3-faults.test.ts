import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { describeError, isStrataError } from '../errors.js';
import { FaultProxy, rangedGet, requests } from '../testing/fault-proxy.js';
import { makeTestS3Store, skipWithoutS3, testS3Options } from '../testing/s3.js';
import { withSignal } from './abort.js';
import { readAll } from './index.js';
import { RetryingStore } from './retrying.js';
import { S3Store } from './s3.js';

const MiB = 1024 * 1024;

describe('S3Store and RetryingStore through a misbehaving network', { skip: skipWithoutS3 }, () => {
  let fixture: Awaited<ReturnType<typeof makeTestS3Store>>;
  let proxy: FaultProxy;
  let raw: S3Store;
  let store: RetryingStore;
  let waits: number[];
  const data = randomBytes(256 * 1024);

  before(async () => {
    fixture = await makeTestS3Store();
    proxy = await FaultProxy.start(testS3Options().endpoint as string);
    raw = new S3Store({ ...testS3Options(), bucket: fixture.store.bucket, endpoint: proxy.endpoint, timeouts: { connectMs: 2000, idleMs: 1500 }, multipartThreshold: 5 * MiB, partSize: 5 * MiB });
    await fixture.store.put('obj', data);
  });
  after(async () => {
    raw?.client.destroy();
    await proxy?.close();
    await fixture?.cleanup();
  });
  beforeEach(() => {
    assert.equal(proxy.pending, 0, 'a fault of the last test was never used');
    waits = [];
    // random() = 1 - ε: each wait is its whole window, so the test sees the backoff grow.
    store = new RetryingStore(raw, { sleep: async (ms) => void waits.push(ms), random: () => 0.999999 });
  });

  /** The error a promise fails with, or a failure of the test if it resolves. */
  async function failure(p: Promise<unknown>): Promise<unknown> {
    return p.then(
      () => assert.fail('expected a failure'),
      (e: unknown) => e,
    );
  }

  for (const kind of ['stall', 'reset', 'truncate'] as const) {
    it(`get retries a body that ${kind}s half-way and returns the whole object`, async () => {
      proxy.inject({ kind, afterBytes: 1000 }, { match: requests('GET', 'obj') });
      assert.deepEqual(Buffer.from(await store.get('obj')), data);
      assert.equal(waits.length, 1);
    });

    it(`a ranged get retries a body that ${kind}s half-way`, async () => {
      proxy.inject({ kind, afterBytes: 10 }, { match: rangedGet });
      assert.deepEqual(Buffer.from(await store.get('obj', { offset: 5000, length: 3000 })), data.subarray(5000, 8000));
      assert.equal(waits.length, 1);
    });

    it(`getStream fails E_TRANSIENT naming the key when its body ${kind}s, never ending short`, async () => {
      proxy.inject({ kind, afterBytes: 1000 }, { match: requests('GET', 'obj') });
      const err = await failure(store.getStream('obj').then(readAll));
      assert.ok(isStrataError(err, 'E_TRANSIENT') && err.key === 'obj', describeError(err));
      assert.doesNotMatch(describeError(err), /\n/);
    });
  }

  it('a server that never answers times out and is retried, for every kind of request', async () => {
    const stall = { kind: 'stall' } as const;
    proxy.inject(stall, { match: requests('GET', 'obj') });
    assert.equal((await store.get('obj')).byteLength, data.length);
    proxy.inject(stall, { match: requests('HEAD', 'obj') });
    assert.equal((await store.head('obj'))?.size, data.length);
    proxy.inject(stall, { match: requests('PUT', 'put-stall') });
    await store.put('put-stall', Buffer.from('x'));
    proxy.inject(stall, { match: requests('DELETE', 'put-stall') });
    await store.delete('put-stall');
    proxy.inject(stall, { match: requests('GET') });
    assert.deepEqual(await keysOf(store.list('')), ['obj']);
    assert.equal(waits.length, 5);
  });

  it('a server that never answers fails after the retries with a one-line E_TRANSIENT naming the key', async () => {
    proxy.inject({ kind: 'stall' }, { match: requests('HEAD', 'obj'), times: 7 });
    const err = await failure(store.head('obj'));
    assert.ok(isStrataError(err, 'E_TRANSIENT') && err.key === 'obj', describeError(err));
    assert.match(describeError(err), new RegExp(`^E_TRANSIENT obj: HEAD at ${raw.location} failed: .*time`));
    assert.doesNotMatch(describeError(err), /\n/);
    assert.equal(waits.length, 6);
  });

  it('a first byte late but within the timeout is no failure', async () => {
    proxy.inject({ kind: 'delay', ms: 300 }, { match: requests('GET', 'obj') });
    assert.equal((await store.get('obj')).byteLength, data.length);
    assert.deepEqual(waits, []);
  });

  it('retries 500, 503 and SlowDown with a backoff that grows, and gives up after its retries', async () => {
    proxy.inject({ kind: 'status', status: 500, code: 'InternalError' }, { match: requests('GET', 'obj') });
    proxy.inject({ kind: 'status', status: 503, code: 'ServiceUnavailable' }, { match: requests('GET', 'obj') });
    proxy.inject({ kind: 'status', status: 503, code: 'SlowDown' }, { match: requests('GET', 'obj') });
    assert.equal((await store.get('obj')).byteLength, data.length);
    assert.deepEqual(waits, [99, 199, 399]);
    waits.length = 0;
    proxy.inject({ kind: 'status', status: 503, code: 'SlowDown' }, { match: requests('PUT', 'slow'), times: 7 });
    const err = await failure(store.put('slow', Buffer.from('x')));
    assert.ok(isStrataError(err, 'E_TRANSIENT') && err.key === 'slow' && /SlowDown/.test(err.message), describeError(err));
    assert.equal(waits.length, 6);
  });

  it('a 502 page of HTML from a gateway is E_TRANSIENT on one line', async () => {
    proxy.inject(
      { kind: 'alter', alter: () => ({ status: 502, headers: { 'content-type': 'text/html' }, body: Buffer.from('<html><body><h1>502 Bad Gateway</h1>\n<hr>nginx</body></html>\n') }) },
      { match: requests('GET', 'obj') },
    );
    assert.equal((await store.get('obj')).byteLength, data.length);
    assert.equal(waits.length, 1);
  });

  it('an error answer whose text has several lines, or is not XML, still makes a one-line error', async () => {
    const answers = [
      { status: 400, type: 'application/xml', body: '<?xml version="1.0"?><Error><Code>InvalidArgument</Code><Message>first line\nsecond line</Message></Error>' },
      { status: 400, type: 'text/html', body: '<html><body>\n<h1>400 Bad Request</h1>\n</body></html>\n' },
      { status: 400, type: 'text/plain', body: 'bad request <<<\n' },
    ];
    for (const { status, type, body } of answers) {
      proxy.inject({ kind: 'alter', alter: () => ({ status, headers: { 'content-type': type }, body: Buffer.from(body) }) }, { match: requests('GET', 'obj') });
      const err = await failure(store.get('obj'));
      assert.ok(isStrataError(err, 'E_PERMANENT') && err.key === 'obj', describeError(err));
      assert.doesNotMatch(describeError(err), /\n/);
    }
  });

  it('fails at once on 403 and on a missing bucket, with a message that says what to fix', async () => {
    proxy.inject({ kind: 'status', status: 403, code: 'AccessDenied' }, { match: requests('GET', 'obj') });
    const denied = await failure(store.get('obj'));
    assert.ok(isStrataError(denied, 'E_AUTH'), describeError(denied));
    assert.match(describeError(denied), /^E_AUTH obj: credentials refused by s3:\/\/.*: AccessDenied$/);
    proxy.inject({ kind: 'status', status: 404, code: 'NoSuchBucket' }, { match: requests('PUT', 'k') });
    const missing = await failure(store.put('k', Buffer.from('x')));
    assert.ok(isStrataError(missing, 'E_PERMANENT') && /bucket ".*" does not exist/.test(missing.message), describeError(missing));
    assert.deepEqual(waits, []);
  });

  it('never takes a ranged answer of the wrong length or place for data', async () => {
    const range = { offset: 5000, length: 3000 };
    // 200 without Content-Range, a body longer than asked.
    proxy.inject({ kind: 'alter', alter: (a) => ({ status: 200, headers: { 'content-type': 'application/octet-stream' }, body: Buffer.concat([a.body, a.body]) }) }, { match: rangedGet });
    const whole = await failure(store.get('obj', range));
    assert.ok(isStrataError(whole) && whole.key === 'obj', describeError(whole));
    // 206 claiming the range asked for, with fewer bytes (its Content-Length honest).
    proxy.inject({ kind: 'alter', alter: (a) => ({ ...a, headers: { ...a.headers, 'content-length': undefined }, body: a.body.subarray(0, 100) }) }, { match: rangedGet });
    const short = await failure(store.get('obj', range));
    assert.ok(isStrataError(short) && short.key === 'obj', describeError(short));
    // 206 for another place of the object.
    proxy.inject({ kind: 'alter', alter: (a) => ({ ...a, headers: { ...a.headers, 'content-range': `bytes 0-2999/${data.length}` } }) }, { match: rangedGet });
    const moved = await failure(store.get('obj', range));
    assert.ok(isStrataError(moved) && moved.key === 'obj', describeError(moved));
  });

  it('a PUT cut off mid-body is sent again whole, from a buffer and from a stream', async () => {
    proxy.inject({ kind: 'cutRequest', afterBytes: 50_000 }, { match: requests('PUT', 'cut-bytes') });
    await store.put('cut-bytes', data);
    assert.deepEqual(Buffer.from(await fixture.store.get('cut-bytes')), data);
    let opened = 0;
    proxy.inject({ kind: 'cutRequest', afterBytes: 50_000 }, { match: requests('PUT', 'cut-stream') });
    await store.put('cut-stream', { size: data.length, open: () => (opened++, Readable.from([data.subarray(0, 1000), data.subarray(1000)])) });
    assert.deepEqual(Buffer.from(await fixture.store.get('cut-stream')), data);
    assert.equal(opened, 2);
    assert.equal(waits.length, 2);
  });

  it('a multipart PUT whose part is cut off mid-body is sent again whole', async () => {
    const big = randomBytes(6 * MiB);
    let opened = 0;
    proxy.inject({ kind: 'cutRequest', afterBytes: MiB }, { match: (req) => req.method === 'PUT' && /partNumber=2/.test(req.url ?? '') });
    await store.put('cut-multi', { size: big.length, open: () => (opened++, Readable.from([big])) });
    assert.deepEqual(Buffer.from(await fixture.store.get('cut-multi')), big);
    assert.equal(opened, 2);
  });

  it('a multipart PUT cut off by an abort of its signal still aborts the upload on the server', async () => {
    const big = randomBytes(6 * MiB);
    const pause = new AbortController();
    const reason = new Error('paused');
    // Part 2 never gets an answer; the pause comes while it hangs.
    proxy.inject({ kind: 'stall' }, { match: (req) => req.method === 'PUT' && /partNumber=2/.test(req.url ?? '') && (setImmediate(() => pause.abort(reason)), true) });
    const err = await failure(withSignal(pause.signal, () => store.put('paused-multi', { size: big.length, open: () => Readable.from([big]) })));
    assert.equal(err, reason);
    assert.ok(proxy.seen.some((line) => /^DELETE .*paused-multi\?uploadId=/.test(line)), proxy.seen.join('\n'));
    const listed = await fixture.store.client.send(new ListMultipartUploadsCommand({ Bucket: fixture.store.bucket }));
    assert.deepEqual((listed.Uploads ?? []).map((u) => u.Key).filter((k) => k?.endsWith('paused-multi')), []);
  });

  it('a multipart PUT paused while its CreateMultipartUpload awaits the answer leaves no upload on the server', async () => {
    const big = randomBytes(6 * MiB);
    const pause = new AbortController();
    const reason = new Error('paused');
    // The server makes the upload at once; its answer reaches the client a second later.
    proxy.inject({ kind: 'delay', ms: 1000 }, { match: (req) => req.method === 'POST' && /[?&]uploads(=|&|$)/.test(req.url ?? '') });
    const put = failure(withSignal(pause.signal, () => store.put('paused-create', { size: big.length, open: () => Readable.from([big]) })));
    const uploadsOf = async (key: string) => {
      const listed = await fixture.store.client.send(new ListMultipartUploadsCommand({ Bucket: fixture.store.bucket }));
      return (listed.Uploads ?? []).filter((u) => u.Key?.endsWith(key));
    };
    for (let i = 0; i < 200 && (await uploadsOf('paused-create')).length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal((await uploadsOf('paused-create')).length, 1, 'the server never made the upload');
    assert.ok(!proxy.seen.some((line) => /paused-create\?partNumber=/.test(line)), `the answer came before the pause:\n${proxy.seen.join('\n')}`);
    pause.abort(reason);
    assert.equal(await put, reason);
    assert.deepEqual(await uploadsOf('paused-create'), []);
  });

  it('an answer that trickles, never silent for the idle timeout, fails at its deadline (both timeouts and its bytes at the floor speed), naming the key', async () => {
    const slow = new S3Store({ ...testS3Options(), bucket: fixture.store.bucket, endpoint: proxy.endpoint, timeouts: { connectMs: 1000, idleMs: 1500, minBytesPerSecond: 1000 } });
    try {
      await fixture.store.put('tiny', Buffer.alloc(100, 7));
      // 100 bytes at 10 per second: 10 s, never 1.5 s without a byte; the deadline is 1 s (connect) + 1.5 s + 0.1 s.
      const trickle = { kind: 'trickle', bytes: 1, everyMs: 100 } as const;
      for (const read of [() => slow.get('tiny'), () => slow.get('tiny', { offset: 10, length: 80 }), () => slow.getStream('tiny').then(readAll)]) {
        proxy.inject(trickle, { match: requests('GET', 'tiny') });
        const err = await failure(read());
        assert.ok(isStrataError(err, 'E_TRANSIENT') && err.key === 'tiny', describeError(err));
        assert.match(describeError(err), /slower than/);
        assert.doesNotMatch(describeError(err), /\n/);
      }
      // A body that comes at the floor speed or faster is not cut.
      proxy.inject({ kind: 'trickle', bytes: 25, everyMs: 10 }, { match: requests('GET', 'tiny') });
      assert.equal((await slow.get('tiny')).byteLength, 100);
    } finally {
      slow.client.destroy();
    }
  });

  it('a listing of several pages resumes after a page that stalls', async () => {
    const keys = Array.from({ length: 1003 }, (_, i) => `many/${String(i).padStart(4, '0')}`);
    for (let i = 0; i < keys.length; i += 32) await Promise.all(keys.slice(i, i + 32).map((k) => fixture.store.put(k, Buffer.from('x'))));
    // A page of 1000 keys may take Swift longer than the other tests' timeout to begin.
    const patient = new S3Store({ ...testS3Options(), bucket: fixture.store.bucket, endpoint: proxy.endpoint, timeouts: { idleMs: 5000 } });
    try {
      proxy.inject({ kind: 'stall', afterBytes: 200 }, { match: (req) => req.method === 'GET' && /continuation-token=/.test(req.url ?? '') });
      assert.deepEqual(await keysOf(new RetryingStore(patient, { sleep: async (ms) => void waits.push(ms) }).list('many/')), keys);
      assert.equal(waits.length, 1);
    } finally {
      patient.client.destroy();
    }
  });
});

async function keysOf(it: AsyncIterable<{ key: string }>): Promise<string[]> {
  const out: string[] = [];
  for await (const { key } of it) out.push(key);
  return out;
}
