// strata snapshot and restore against a real S3 server behind a proxy that cuts, truncates,
// corrupts and refuses (sync/testing/fault-proxy.ts): each either succeeds with the right bytes
// or fails with one line naming what and where, leaving no head over missing objects and no
// half-written file.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { after, before, beforeEach, describe, it } from 'node:test';
import { FaultProxy } from '../testing/fault-proxy.js';
import { makeRng } from '../testing/random.js';
import { makeTestS3Store, s3TestEnv, skipWithoutS3 } from '../testing/s3.js';
import { cleanEnv, describeRun, readTree, strata, writeTree } from './testkit.js';

const isPack = (method: string) => (req: { method?: string; url?: string }) => req.method === method && /\/data\//.test(req.url ?? '');
const isHead = (req: { method?: string; url?: string }) => req.method === 'PUT' && /\/heads\//.test(req.url ?? '');

describe('strata snapshot and restore through a misbehaving network', { skip: skipWithoutS3 }, () => {
  let tmp: string;
  let proxy: FaultProxy;
  let fixture: Awaited<ReturnType<typeof makeTestS3Store>>;
  let run: (...args: string[]) => ReturnType<typeof strata>;
  let src: string;

  before(async () => {
    const s3 = s3TestEnv();
    assert.ok(s3);
    tmp = await mkdtemp(join(tmpdir(), 'strata-cli-faults-'));
    fixture = await makeTestS3Store();
    proxy = await FaultProxy.start(s3.endpoint);
    const url = `s3://${fixture.store.bucket}/repo?endpoint=${encodeURIComponent(proxy.endpoint)}&region=${s3.region}&pathStyle=true`;
    const env = cleanEnv({ AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey });
    run = (...args) => strata(['--store', url, '--device', 'ci-box', ...args], env, 120_000);
    const rng = makeRng(11);
    src = join(tmp, 'src');
    await writeTree(src, { 'a.txt': 'through the proxy\n', sub: { 'b.bin': rng.bytes(40_000), 'c.bin': rng.bytes(300_000) } });
    const init = await run('init');
    assert.equal(init.code, 0, describeRun(init));
  });
  after(async () => {
    await proxy?.close();
    await fixture?.cleanup();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });
  beforeEach(() => proxy.clear());

  async function heads(layer: string): Promise<string[]> {
    const out: string[] = [];
    for await (const { key } of fixture.store.list(`layers/${layer}/heads/`)) out.push(key);
    return out;
  }

  it('a snapshot whose pack PUT is cut off and whose head PUT is throttled still lands whole', async () => {
    proxy.inject({ kind: 'cutRequest', afterBytes: 20_000 }, { match: isPack('PUT') });
    proxy.inject({ kind: 'status', status: 503, code: 'SlowDown' }, { match: isHead, times: 2 });
    const snap = await run('snapshot', src, '--layer', 'user/ok');
    assert.equal(snap.code, 0, describeRun(snap));
    proxy.inject({ kind: 'truncate', afterBytes: 1000 }, { match: isPack('GET') });
    proxy.inject({ kind: 'reset', afterBytes: 5000 }, { match: isPack('GET') });
    const restore = await run('restore', join(tmp, 'ok'), '--layer', 'user/ok');
    assert.equal(restore.code, 0, describeRun(restore));
    assert.deepEqual(await readTree(join(tmp, 'ok')), await readTree(src));
  });

  it('a snapshot whose packs cannot be stored fails on one line and writes no head', async () => {
    // Bytes no other test stored, so the snapshot has packs to put.
    const fresh = join(tmp, 'fresh');
    await writeTree(fresh, { 'new.bin': makeRng(12).bytes(50_000) });
    proxy.inject({ kind: 'status', status: 403, code: 'AccessDenied' }, { match: isPack('PUT'), times: 1000 });
    const denied = await run('snapshot', fresh, '--layer', 'user/denied');
    assert.equal(denied.code, 1, describeRun(denied));
    assert.match(denied.stderr, /^strata: E_AUTH data\/\S+: .*credentials refused by s3:\/\/\S+: AccessDenied\n$/);
    assert.deepEqual(await heads('user/denied'), []);
    proxy.clear();
    proxy.inject({ kind: 'status', status: 503, code: 'SlowDown' }, { match: isPack('PUT'), times: 1000 });
    const throttled = await run('snapshot', fresh, '--layer', 'user/denied');
    assert.equal(throttled.code, 1, describeRun(throttled));
    assert.match(throttled.stderr, /^strata: E_TRANSIENT data\/\S+: .*PUT at s3:\/\/\S+ failed: 503 SlowDown .*\n$/);
    assert.deepEqual(await heads('user/denied'), []);
  });

  it('a restore whose pack reads keep breaking off fails on one line and writes no file', async () => {
    const snap = await run('snapshot', src, '--layer', 'user/broken');
    assert.equal(snap.code, 0, describeRun(snap));
    proxy.inject({ kind: 'truncate', afterBytes: 1000 }, { match: isPack('GET'), times: 1000 });
    const out = join(tmp, 'broken');
    const restore = await run('restore', out, '--layer', 'user/broken');
    assert.equal(restore.code, 1, describeRun(restore));
    assert.match(restore.stderr, /^strata: E_TRANSIENT data\/\S+: .*\n$/);
    await noPartialFile(out, src);
  });

  it('a restore in place whose pack reads keep breaking off leaves each file as it was', async () => {
    const out = join(tmp, 'in-place');
    const rng = makeRng(13);
    await writeTree(out, { 'a.txt': 'mine\n', sub: { 'b.bin': rng.bytes(40_000), 'c.bin': rng.bytes(300_000) } });
    const before = await readTree(out);
    proxy.inject({ kind: 'reset', afterBytes: 3000 }, { match: isPack('GET'), times: 1000 });
    const restore = await run('restore', out, '--layer', 'user/ok');
    assert.equal(restore.code, 1, describeRun(restore));
    assert.match(restore.stderr, /^strata: E_TRANSIENT data\/\S+: .*\n$/);
    const whole = await readTree(src);
    for (const [name, seen] of Object.entries(await readTree(out))) {
      // A file of mine that the restore replaced is kept beside it as a conflict copy.
      const original = name.replace(/\.sync-conflict-\d{8}-\d{6}-[^.]+/, '');
      if (seen.type === 'file') assert.ok(isDeepStrictEqual(seen, before[original]) || isDeepStrictEqual(seen, whole[name]), `${name} is partial`);
    }
  });

  it('a restore served bytes that are not the chunks fails naming the pack, and writes no file', async () => {
    proxy.inject(
      {
        kind: 'alter',
        alter: (a) => {
          const body = Buffer.from(a.body);
          body.writeUInt8(body.readUInt8(body.length >> 1) ^ 0xff, body.length >> 1);
          return { ...a, body };
        },
      },
      { match: isPack('GET'), times: 1000 },
    );
    const out = join(tmp, 'corrupt');
    const restore = await run('restore', out, '--layer', 'user/ok');
    assert.equal(restore.code, 1, describeRun(restore));
    assert.match(restore.stderr, /^strata: E_\w+ data\/\S+: .*\n$/);
    await noPartialFile(out, src);
  });
});

/** Every file the failed restore left in `out` is whole: the one in `src`. */
async function noPartialFile(out: string, src: string): Promise<void> {
  const left = await readTree(out).catch(() => ({}));
  const whole = await readTree(src);
  for (const [name, seen] of Object.entries(left)) assert.deepEqual(seen, whole[name], `${name} is not what was snapshotted`);
}
