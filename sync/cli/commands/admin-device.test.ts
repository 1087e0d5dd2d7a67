// `strata admin device retire` through the CLI's run(), on a folder store and on a real S3 server
// (Swift's s3api under `npm test`; skipped locally without one): a laptop's head is refused while
// no other head has what it wrote, and while it synced lately without --force; retired, admin
// forget releases its history; the laptop coming back (its agent restarted) loses nothing.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { describe, it, type TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { Device, initStore, LAYER, listDir, tempRoot } from '../../agent/testkit.js';
import { forgetSnapshots } from '../../repo/forget.js';
import { openRepository } from '../../repo/index.js';
import { keys } from '../../repo/types.js';
import { MemoryStore } from '../../store/memory.js';
import type { ObjectStore } from '../../store/index.js';
import { openStore } from '../../store/url.js';
import { makeTestS3Store, pastBucketTimes, s3TestEnv, skipWithoutS3 } from '../../testing/s3.js';
import { run } from '../run.js';
import { inUse, RECENT_MS } from './admin-device.js';

const DAY = 24 * 3600_000;
const USER = LAYER.slice('user/'.length);

async function scenario(t: TestContext, url: string, env: Record<string, string>, store: ObjectStore): Promise<void> {
  const cli = async (...argv: string[]) => {
    let stdout = '';
    let stderr = '';
    const code = await run(['--store', url, ...argv], { stdout: (s) => (stdout += s), stderr: { write: (s: string) => (stderr += s), isTTY: false }, env });
    return { code, stdout, stderr };
  };
  const retire = (...argv: string[]) => cli('admin', 'device', 'retire', ...argv);
  const log = async () => JSON.parse((await cli('log', '--layer', LAYER, '--json')).stdout) as { snapshots: { id: string; device: string }[]; heads: { device: string }[] };
  const base = await tempRoot(t, 'retire');
  await initStore(store);
  const pc = await Device.create(base, 'pc', store);
  const lap = await Device.create(base, 'lap', store);
  t.after(async () => {
    await pc.close();
    await lap.close();
  });
  await lap.write('l.txt', 'l1');
  await lap.pass();
  const unmerged = await retire('lap', '--user', USER, '--force');
  assert.equal(unmerged.code, 1);
  assert.match(unmerged.stderr, new RegExp(`^strata: E_DEVICE_UNMERGED ${keys.head(LAYER, 'lap')}: no other head has`));
  await pc.pass();
  for (let i = 0; i < 3; i++) {
    await pc.write('p.txt', `p${i}`);
    await pc.pass();
  }

  const recent = await retire('lap', '--user', USER);
  assert.equal(recent.code, 1);
  assert.match(recent.stderr, /^strata: E_DEVICE_IN_USE .*not signed out, so it may be in use; --force retires it/);
  const done = await retire('lap', '--user', USER, '--force', '--json');
  assert.equal(done.code, 0, done.stderr);
  assert.equal(JSON.parse(done.stdout).retired.device, 'lap');
  assert.deepEqual((await log()).heads.map((h) => h.device), ['pc']);
  assert.match((await retire('lap', '--user', USER, '--force')).stderr, /^strata: E_NO_DEVICE /);
  for (const argv of [['admin', '--user', USER], ['pc'], []]) assert.equal((await retire(...argv)).code, 2, argv.join(' '));

  // Forget releases the laptop's history: no snapshot of its is left.
  await pastBucketTimes(store);
  const forgot = await cli('admin', 'forget', '--user', USER, '--keep-last', '1', '--grace', '0s');
  assert.equal(forgot.code, 0, forgot.stderr);
  assert.deepEqual((await log()).snapshots.filter((s) => s.device === 'lap'), []);

  // The laptop comes back (its agent restarted): its edit made while away and its new file go up,
  // the layer's files come down, and the version it cannot place without a base is kept beside.
  await lap.write('l.txt', 'edited while away');
  await lap.write('new.txt', 'new');
  await lap.close();
  await lap.open();
  assert.equal((await lap.pass()).status, 'synced');
  assert.equal((await pc.pass()).status, 'synced');
  assert.equal((await lap.pass()).status, 'synced');
  const files = await listDir(pc.root);
  assert.deepEqual(await listDir(lap.root), files);
  assert.equal(files['l.txt'], 'edited while away');
  assert.equal(files['new.txt'], 'new');
  assert.equal(files['p.txt'], 'p2');
  assert.deepEqual(Object.entries(files).filter(([name]) => name.includes('.sync-conflict-')).map(([, text]) => text), ['l1']);
  assert.deepEqual((await log()).heads.map((h) => h.device).sort(), ['lap', 'pc']);
  const checked = await cli('check', '--json');
  assert.equal(checked.code, 0, checked.stdout);
}

describe('strata admin device retire', () => {
  it('refuses a device in use (not signed out, synced within 30 days) without --force; a signed-out one at any age', () => {
    const head = { version: 1 as const, layer: LAYER, device: 'lap', snapshot: 'a'.repeat(64), time: new Date(0).toISOString() };
    const now = Date.parse('2026-06-01T00:00:00Z');
    assert.match(inUse({ head, written: now - 10 * DAY }, now) ?? '', /^it synced 2026-05-22T00:00:00Z \(10 days ago, less than 30\) and is not signed out/);
    assert.equal(inUse({ head, written: now - RECENT_MS }, now), undefined);
    assert.equal(inUse({ head: { ...head, final: true }, written: now }, now), undefined);
  });

  it('on a folder store: retired, forget releases its history; back, it loses nothing', async (t) => {
    const dir = await tempRoot(t, 'retire-store');
    await mkdir(join(dir, 'store'));
    const url = pathToFileURL(join(dir, 'store')).href;
    await scenario(t, url, {}, openStore(url));
  });

  it('on S3: the same', { skip: skipWithoutS3 }, async (t) => {
    const s3 = s3TestEnv();
    assert.ok(s3);
    const { store, cleanup } = await makeTestS3Store({ prefix: 'retire' });
    t.after(cleanup);
    const url = `s3://${store.bucket}/retire?endpoint=${encodeURIComponent(s3.endpoint)}&region=${s3.region}&pathStyle=true`;
    await scenario(t, url, { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey }, store);
  });

  it('a retired device whose agent ran on through the retire and the forget writes its head again and syncs', async (t) => {
    const base = await tempRoot(t, 'retire-running');
    const mem = new MemoryStore();
    await initStore(mem);
    const pc = await Device.create(base, 'pc', mem);
    const lap = await Device.create(base, 'lap', mem);
    t.after(async () => {
      await pc.close();
      await lap.close();
    });
    await lap.write('l.txt', 'l1');
    await lap.pass();
    for (let i = 0; i < 3; i++) {
      await pc.write('p.txt', `p${i}`);
      await pc.pass();
    }
    await mem.delete(keys.head(LAYER, 'lap'));
    await forgetSnapshots(await openRepository(mem), LAYER, { policy: { last: 1 }, graceMs: 0, dryRun: false });
    await lap.write('new.txt', 'new');
    assert.equal((await lap.pass()).status, 'synced');
    assert.equal((await pc.pass()).status, 'synced');
    assert.equal(await pc.read('new.txt'), 'new');
  });
});
