// `strata admin` on a real S3 server (Swift's s3api under `npm test`), through the CLI's run():
// preload a new hire, extend it, publish two org layer versions, assign them, let a device sync,
// and read it all back with `admin users`; and `admin gc` merging the indexes of many passes, then
// deleting the merged ones. Skips locally without a server.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateMultipartUploadCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { readProfile } from '../../profile/index.js';
import { openRepository } from '../../repo/index.js';
import { makeTestS3Store, s3TestEnv, skipWithoutS3 } from '../../testing/s3.js';
import type { S3Store } from '../../store/s3.js';
import { run } from '../run.js';
import { writeTree } from '../testkit.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = (...argv: string[]) => Promise<any>;

/** A fresh bucket prefix on the test server, a temp dir, and `strata --json <argv>` on that store (which must exit 0). */
async function s3Cli(prefix: string, tmpName: string): Promise<{ store: S3Store; cleanup: () => Promise<void>; tmp: string; json: Json }> {
  const s3 = s3TestEnv();
  assert.ok(s3, 'STRATA_TEST_S3_ENDPOINT, _ACCESS_KEY and _SECRET_KEY must be set');
  const { store, cleanup } = await makeTestS3Store({ prefix });
  const tmp = await mkdtemp(join(tmpdir(), tmpName));
  const url = `s3://${store.bucket}/${prefix}?endpoint=${encodeURIComponent(s3.endpoint)}&region=${s3.region}&pathStyle=true`;
  const env = { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey };
  const json: Json = async (...argv) => {
    let stdout = '';
    let stderr = '';
    const code = await run(['--store', url, '--json', ...argv], { stdout: (s) => (stdout += s), stderr: { write: (s: string) => (stderr += s), isTTY: false }, env });
    assert.equal(code, 0, stderr);
    return JSON.parse(stdout);
  };
  return { store, cleanup, tmp, json };
}

describe('strata admin on S3', { skip: skipWithoutS3 }, () => {
  let tmp: string;
  let store: S3Store;
  let cleanup: () => Promise<void>;
  let json: Json;

  before(async () => {
    ({ store, cleanup, tmp, json } = await s3Cli('repo', 'strata-admin-s3-'));
    await writeTree(join(tmp, 'tpl1'), { Desktop: { 'welcome.txt': 'welcome' }, Documents: { 'guide.txt': 'guide v1' } });
    await writeTree(join(tmp, 'tpl2'), { Documents: { 'guide.txt': 'guide v2', 'forms.txt': 'forms' } });
    await writeTree(join(tmp, 'org1'), { 'bookmarks.html': 'v1' });
    await writeTree(join(tmp, 'org2'), { 'bookmarks.html': 'v2' });
    await writeTree(join(tmp, 'pc'), { 'notes.txt': 'from the pc' });
    await json('init');
  });
  after(async () => {
    await cleanup?.();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('preload, extend, publish v1 and v2, assign, sync a device, and list users', async () => {
    const p1 = await json('admin', 'preload', '--user', 'newhire', '--from', join(tmp, 'tpl1'));
    assert.equal(p1.extended, null);
    const p2 = await json('admin', 'preload', '--user', 'newhire', '--from', join(tmp, 'tpl2'));
    assert.equal(p2.extended, p1.snapshot);
    assert.equal(p2.files, 3);
    const restored = join(tmp, 'restored');
    await json('restore', restored, '--layer', 'user/newhire');
    assert.equal(await readFile(join(restored, 'Desktop/welcome.txt'), 'utf8'), 'welcome');
    assert.equal(await readFile(join(restored, 'Documents/guide.txt'), 'utf8'), 'guide v2');
    assert.equal(await readFile(join(restored, 'Documents/forms.txt'), 'utf8'), 'forms');

    const v1 = await json('admin', 'layer', 'publish', 'org/dept', '--from', join(tmp, 'org1'));
    const v2 = await json('admin', 'layer', 'publish', 'org/dept', '--from', join(tmp, 'org2'));
    assert.deepEqual(v2.parents, [v1.snapshot]);
    const list = await json('admin', 'layer', 'list');
    assert.deepEqual(list.layers.map((l: { layer: string; versions: number; latest: { snapshot: string } }) => [l.layer, l.versions, l.latest.snapshot]), [['org/dept', 2, v2.snapshot]]);

    await json('admin', 'assign', '--user', 'newhire', '--layers', 'org/dept', '--display-name', 'New Hire');
    const profile = await readProfile(store, 'newhire');
    assert.deepEqual([profile?.displayName, profile?.layers], ['New Hire', ['org/dept']]);

    const synced = await json('snapshot', join(tmp, 'pc'), '--layer', 'user/newhire', '--device', 'pc1');
    // Users found past others' keys (the listing skips ahead with startAfter): a profile only, a layer only.
    await json('admin', 'assign', '--user', 'amy', '--layers', '', '--display-name', 'Amy');
    await json('snapshot', join(tmp, 'pc'), '--layer', 'user/zed', '--device', 'pc9');
    const { users } = await json('admin', 'users');
    assert.deepEqual(users.map((x: { user: string }) => x.user), ['amy', 'newhire', 'zed']);
    const u = users[1];
    assert.deepEqual([u.user, u.displayName, u.layers, u.snapshots], ['newhire', 'New Hire', ['org/dept'], 4], 'two preloads, a template record, the pc');
    assert.deepEqual(u.devices.map((d: { device: string; snapshot: string }) => [d.device, d.snapshot]), [['pc1', synced.snapshot]]);
    assert.deepEqual(u.preloads.map((d: { device: string; snapshot: string }) => [d.device, d.snapshot]), [['admin', p2.snapshot]]);
    for (const d of u.devices) assert.ok(Number.isFinite(Date.parse(d.lastSync)), d.lastSync);
    assert.ok(Number.isFinite(Date.parse(u.preloads[0].at)), u.preloads[0].at);
    assert.deepEqual([u.latest.snapshot, u.files, u.bytes], [synced.snapshot, 1, 'from the pc'.length]);
  });

  it('gc aborts the partial uploads begun at least the grace period ago, and a dry run aborts none', async () => {
    const { UploadId } = await store.client.send(new CreateMultipartUploadCommand({ Bucket: store.bucket, Key: 'repo/data/ab/ab01' }));
    const young = await json('admin', 'gc');
    assert.deepEqual(young.uploads, { removed: [], young: 1, unsure: 0 });
    // Swift gives the upload's start rounded up to the second: until then even a grace of 0s keeps it.
    const listed = await store.client.send(new ListMultipartUploadsCommand({ Bucket: store.bucket }));
    const started = listed.Uploads?.find((u) => u.UploadId === UploadId)?.Initiated?.getTime();
    assert.ok(started !== undefined, 'the bucket lists the upload with its start');
    while (Date.now() <= started) await new Promise((resolve) => setTimeout(resolve, started + 1 - Date.now()));
    const dry = await json('admin', 'gc', '--dry-run', '--grace', '0s');
    assert.deepEqual(dry.uploads, { removed: [{ key: 'data/ab/ab01', uploadId: UploadId }], young: 0, unsure: 0 });
    const real = await json('admin', 'gc', '--grace', '0s');
    assert.deepEqual(real.uploads, dry.uploads);
    const left = await store.client.send(new ListMultipartUploadsCommand({ Bucket: store.bucket }));
    assert.deepEqual(left.Uploads ?? [], []);
  });
});

describe('strata admin gc merges the indexes on S3', { skip: skipWithoutS3 }, () => {
  let tmp: string;
  let store: S3Store;
  let cleanup: () => Promise<void>;
  let json: Json;

  before(async () => {
    ({ store, cleanup, tmp, json } = await s3Cli('gcidx', 'strata-gc-idx-'));
    await json('init');
  });
  after(async () => {
    await cleanup?.();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const indexKeys = async () => {
    const out: string[] = [];
    for await (const { key } of store.list('index/')) out.push(key);
    return out;
  };
  /** The GETs a fresh repository's loadIndex makes, and the blobs it then knows. */
  const loadIndexGets = async () => {
    const repo = await openRepository(store, { loadIndex: false });
    const before = repo.stats.gets;
    await repo.loadIndex();
    assert.deepEqual(repo.indexErrors, []);
    return { gets: repo.stats.gets - before, blobs: repo.indexedBlobs };
  };

  it('many passes, gc writes a consolidated index, the next gc deletes what it merged, and everything still restores', async () => {
    const pc = join(tmp, 'pc');
    const files: Record<string, string> = {};
    await writeTree(pc, {});
    for (let i = 0; i < 12; i++) {
      const name = `note-${String(i).padStart(2, '0')}.txt`;
      files[name] = `pass ${i}: ${'x'.repeat(100 + i)}`;
      await writeFile(join(pc, name), files[name]);
      await json('snapshot', pc, '--layer', 'user/idx', '--device', 'pc1');
    }
    const before = await indexKeys();
    assert.ok(before.length >= 12, `${before.length} indexes`);
    const loadedBefore = await loadIndexGets();
    assert.equal(loadedBefore.gets, before.length, 'before: one GET per index');

    const first = await json('admin', 'gc');
    assert.equal(first.indexes.read, before.length);
    assert.equal(first.indexes.written.length, 1);
    assert.equal(first.indexes.written[0].merged, before.length);
    assert.deepEqual(first.indexes.deleted, []);
    assert.deepEqual((await indexKeys()).length, before.length + 1);
    const merged = await loadIndexGets();
    assert.deepEqual(merged, { gets: 1, blobs: loadedBefore.blobs }, 'readers fetch the consolidated index alone');

    // Swift's modified times are rounded up to the second: wait until the bucket's time for the
    // consolidated index has passed, so that a grace of 0s finds it old enough.
    const listed: { modified?: number }[] = [];
    for await (const info of store.list(first.indexes.written[0].key)) listed.push(info);
    await new Promise((r) => setTimeout(r, Math.max(0, (listed[0]?.modified ?? 0) - Date.now() + 50)));
    const second = await json('admin', 'gc', '--grace', '0s');
    assert.deepEqual(second.indexes.deleted.sort(), [...before].sort());
    assert.deepEqual(second.indexes.written, []);
    assert.deepEqual(await indexKeys(), [first.indexes.written[0].key]);
    const after = await loadIndexGets();
    assert.deepEqual(after, { gets: 1, blobs: loadedBefore.blobs });
    console.log(`index GETs of a fresh loadIndex: ${loadedBefore.gets} before gc, ${merged.gets} after the consolidation, ${after.gets} after the deletes`);

    const checked = await json('check', '--read-data');
    assert.deepEqual(checked.problems, []);
    const restored = join(tmp, 'restored');
    await json('restore', restored, '--layer', 'user/idx');
    assert.deepEqual((await readdir(restored)).filter((n) => !n.startsWith('.')).sort(), Object.keys(files).sort());
    for (const [name, text] of Object.entries(files)) assert.equal(await readFile(join(restored, name), 'utf8'), text);
  });
});
