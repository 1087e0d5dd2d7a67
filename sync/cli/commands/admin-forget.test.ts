// `strata admin forget` through the CLI's run(), on a folder store and on a real S3 server (Swift's
// s3api under `npm test`; skipped locally without one): two devices sync a layer, forget keeps the
// newest snapshot and what sync needs, and every reader takes the forgotten parents for the end of
// the history: check passes, log and admin users count what is left, a point-in-time restore of a
// kept snapshot works, and the devices merge on (a conflict keeps both versions).
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { keys } from '../../repo/types.js';
import type { ObjectStore } from '../../store/index.js';
import { openStore } from '../../store/url.js';
import { makeTestS3Store, pastBucketTimes, s3TestEnv, skipWithoutS3 } from '../../testing/s3.js';
import { listFiles, writeTree } from '../testkit.js';
import { run } from '../run.js';

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** `store` is the bucket at `url`, as the test opened it. */
async function scenario(url: string, env: Record<string, string>, tmp: string, store: ObjectStore): Promise<void> {
  const cli = async (...argv: string[]): Promise<Ran> => {
    let stdout = '';
    let stderr = '';
    const code = await run(['--store', url, ...argv], { stdout: (s) => (stdout += s), stderr: { write: (s: string) => (stderr += s), isTTY: false }, env });
    return { code, stdout, stderr };
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const json = async (...argv: string[]): Promise<any> => {
    const r = await cli(...argv, '--json');
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  const sync = (device: string) => json('sync', join(tmp, device), '--layer', 'user/bob', '--device', device, '--state-dir', join(tmp, `${device}-state`), '--once');
  await writeTree(join(tmp, 'pc'), { 'a.txt': 'v0' });
  await writeTree(join(tmp, 'laptop'), {});
  await json('init');
  await sync('pc');
  await sync('laptop');
  for (let i = 1; i <= 3; i++) {
    await writeFile(join(tmp, 'pc', 'a.txt'), `v${i}`);
    await sync('pc');
    await sync('laptop');
  }
  assert.equal(await readFile(join(tmp, 'laptop', 'a.txt'), 'utf8'), 'v3');
  const all = (await json('log', '--layer', 'user/bob')).snapshots as { id: string; parents: string[]; heads: string[] }[];
  assert.doesNotMatch((await cli('log', '--layer', 'user/bob')).stdout, /forgotten/);

  await pastBucketTimes(store);
  const dry = await json('admin', 'forget', '--user', 'bob', '--keep-last', '1', '--grace', '0s', '--dry-run');
  assert.ok(dry.forgotten.length > 0, JSON.stringify(dry));
  assert.equal((await json('log', '--layer', 'user/bob')).snapshots.length, all.length, 'a dry run deletes nothing');
  const r = await json('admin', 'forget', '--user', 'bob', '--keep-last', '1', '--grace', '0s');
  assert.deepEqual(r.forgotten, dry.forgotten);
  const forgotten = new Set((r.forgotten as { id: string }[]).map((s) => s.id));
  const left = (await json('log', '--layer', 'user/bob')).snapshots as { id: string; parents: string[]; heads: string[] }[];
  assert.equal(left.length, all.length - forgotten.size);
  for (const s of all) if (s.heads.length > 0) assert.ok(!forgotten.has(s.id), 'a head\'s snapshot stays');

  const checked = await cli('check', '--json');
  assert.equal(checked.code, 0, checked.stdout + checked.stderr);
  assert.deepEqual(JSON.parse(checked.stdout).problems, []);
  assert.equal((await json('admin', 'users', '--user', 'bob')).users[0].snapshots, left.length);

  // The oldest kept snapshot's parents are gone: restored as it was all the same.
  const oldest = left.at(-1) as { id: string; parents: string[] };
  assert.ok(oldest.parents.some((p) => forgotten.has(p)), JSON.stringify(oldest));
  // log says where the history ends: under that snapshot's row, and as parentsGone.
  const ended = left.filter((x) => (x as unknown as { parentsGone: string[] }).parentsGone.length > 0);
  assert.deepEqual(ended.map((x) => x.id), left.filter((x) => x.parents.some((p) => forgotten.has(p))).map((x) => x.id));
  const text = (await cli('log', '--layer', 'user/bob')).stdout.trimEnd().split('\n');
  const at = text.findIndex((line) => line.startsWith(oldest.id.slice(0, 8)));
  assert.match(text[at + 1] ?? '', /^ {2}history before this was forgotten \(parents? [0-9a-f]{8,}(, [0-9a-f]{8,})* gone\)$/);
  assert.equal(text.filter((line) => line.includes('forgotten')).length, ended.length);
  const back = join(tmp, 'back');
  const restored = await cli('restore', back, '--layer', 'user/bob', '--snapshot', oldest.id);
  assert.equal(restored.code, 0, restored.stderr);
  assert.deepEqual(await listFiles(back), ['a.txt']);
  const gone = await cli('restore', join(tmp, 'gone'), '--layer', 'user/bob', '--snapshot', [...forgotten][0] as string);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /E_SNAPSHOT_NOT_FOUND/);

  // The devices merge on: one edit each way, then the same file edited on both keeps both.
  await writeFile(join(tmp, 'laptop', 'b.txt'), 'from the laptop');
  await sync('laptop');
  await sync('pc');
  assert.equal(await readFile(join(tmp, 'pc', 'b.txt'), 'utf8'), 'from the laptop');
  await writeFile(join(tmp, 'pc', 'a.txt'), 'pc edit');
  await writeFile(join(tmp, 'laptop', 'a.txt'), 'laptop edit');
  await sync('pc');
  await sync('laptop');
  await sync('pc');
  const files = await listFiles(join(tmp, 'pc'));
  assert.equal(files.length, 3, files.join(', '));
  assert.deepEqual(await listFiles(join(tmp, 'laptop')), files);
  assert.equal((await cli('check')).code, 0);

  // Usage: no policy, no layer, both, a bad count.
  for (const argv of [['--user', 'bob'], ['--keep-last', '1'], ['--user', 'bob', '--layer', 'org/x', '--keep-last', '1'], ['--user', 'bob', '--keep-last', '0'], ['--layer', 'nope', '--keep-last', '1']]) {
    const bad = await cli('admin', 'forget', ...argv);
    assert.equal(bad.code, 2, `${argv.join(' ')}: ${bad.stderr}`);
    assert.match(bad.stderr, /^strata: E_USAGE /);
  }
}

/**
 * `--all` on a bucket with bob's layer (scenario's), carol's whose head points at nothing, and an
 * org layer of three versions: every layer one line, carol's failure one line on stderr, exit 1,
 * the others done all the same; --json gives each layer's counts or error.
 */
async function allScenario(url: string, env: Record<string, string>, tmp: string, store: ObjectStore): Promise<void> {
  const cli = async (...argv: string[]): Promise<Ran> => {
    let stdout = '';
    let stderr = '';
    const code = await run(['--store', url, ...argv], { stdout: (s) => (stdout += s), stderr: { write: (s: string) => (stderr += s), isTTY: false }, env });
    return { code, stdout, stderr };
  };
  const ok = async (...argv: string[]): Promise<Ran> => {
    const r = await cli(...argv);
    assert.equal(r.code, 0, r.stderr);
    return r;
  };
  await ok('init');
  for (let i = 0; i < 3; i++) {
    await writeTree(join(tmp, `org-v${i}`), { 'guide.txt': `v${i}` });
    await ok('admin', 'layer', 'publish', 'org/base', '--from', join(tmp, `org-v${i}`));
    await writeTree(join(tmp, 'bob'), { 'a.txt': `v${i}` });
    await ok('sync', join(tmp, 'bob'), '--layer', 'user/bob', '--device', 'pc', '--state-dir', join(tmp, 'bob-state'), '--once');
  }
  await writeTree(join(tmp, 'carol'), { 'c.txt': 'c' });
  await ok('sync', join(tmp, 'carol'), '--layer', 'user/carol', '--device', 'pc', '--state-dir', join(tmp, 'carol-state'), '--once');
  const ghost = keys.head('user/carol', 'ghost');
  await store.put(ghost, Buffer.from(JSON.stringify({ version: 1, layer: 'user/carol', device: 'ghost', snapshot: 'e'.repeat(64), time: new Date().toISOString() })));
  const count = async (layer: string) => ((await cli('log', '--layer', layer, '--json')).stdout.match(/"id"/g) ?? []).length;

  await pastBucketTimes(store);
  const dry = await cli('admin', 'forget', '--all', '--keep-last', '1', '--grace', '0s', '--dry-run', '--json');
  assert.equal(dry.code, 1, dry.stderr);
  const planned = JSON.parse(dry.stdout);
  assert.deepEqual(planned.layers.map((l: { layer: string }) => l.layer), ['org/base', 'user/bob', 'user/carol']);
  assert.equal(planned.layers[2].error.code, 'E_FORGET_UNSAFE');
  assert.equal(planned.layers[2].error.key, ghost);
  assert.deepEqual([await count('org/base'), await count('user/bob')], [3, 3], 'a dry run deletes nothing');

  const r = await cli('admin', 'forget', '--all', '--keep-last', '1', '--grace', '0s');
  assert.equal(r.code, 1);
  const lines = r.stdout.trimEnd().split('\n');
  const snapshots = (n: number) => `${n} snapshot${n === 1 ? '' : 's'}`;
  assert.deepEqual(lines.slice(0, -1).sort(), [
    `org/base: forgot ${snapshots(planned.layers[0].forgotten)} of 3; kept 1 by the policy, ${planned.layers[0].protected} needed by sync`,
    `user/bob: forgot ${snapshots(planned.layers[1].forgotten)} of 3; kept 1 by the policy, ${planned.layers[1].protected} needed by sync`,
  ]);
  const forgotten = planned.layers[0].forgotten + planned.layers[1].forgotten;
  assert.ok(forgotten >= 2, r.stdout);
  assert.equal(lines.at(-1), `total: forgot ${snapshots(forgotten)} of 6 in 3 layers (grace 0s); 1 failed (each named on stderr)`);
  assert.match(r.stderr, new RegExp(`^strata: user/carol: E_FORGET_UNSAFE ${ghost}: head points at snapshot e+, which is not there.*\n$`));
  assert.equal((await count('org/base')) + (await count('user/bob')), 6 - forgotten);
  assert.equal(await count('user/carol'), 1);

  const again = await cli('admin', 'forget', '--all', '--keep-last', '1', '--grace', '0s', '--json');
  assert.equal(again.code, 1);
  assert.equal(JSON.parse(again.stdout).stopped, null, 'a layer\'s own failure stops nothing');
  assert.deepEqual(JSON.parse(again.stdout).total, { layers: 3, failed: 1, notAttempted: 0, snapshots: 6 - forgotten, forgotten: 0 });
  for (const argv of [['--all', '--user', 'bob'], ['--all', '--layer', 'org/base']]) {
    const bad = await cli('admin', 'forget', ...argv, '--keep-last', '1');
    assert.equal(bad.code, 2, bad.stderr);
  }
}

describe('strata admin forget', () => {
  const tmps: string[] = [];
  after(async () => {
    for (const t of tmps) await rm(t, { recursive: true, force: true });
  });

  it('on a folder store: keeps what sync needs; every reader ends the history where the parents are gone', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'strata-forget-'));
    tmps.push(tmp);
    const url = pathToFileURL(join(tmp, 'store')).href;
    await scenario(url, {}, tmp, openStore(url));
  });

  it('--all on a folder store: every layer one line, a failed one on stderr and exit 1, the others done', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'strata-forget-all-'));
    tmps.push(tmp);
    const url = pathToFileURL(join(tmp, 'store')).href;
    await allScenario(url, {}, tmp, openStore(url));
  });

  it('on S3: the same', { skip: skipWithoutS3 }, async () => {
    const s3 = s3TestEnv();
    assert.ok(s3);
    const { store, cleanup } = await makeTestS3Store({ prefix: 'forget' });
    const tmp = await mkdtemp(join(tmpdir(), 'strata-forget-s3-'));
    tmps.push(tmp);
    try {
      const url = `s3://${store.bucket}/forget?endpoint=${encodeURIComponent(s3.endpoint)}&region=${s3.region}&pathStyle=true`;
      await scenario(url, { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey }, tmp, store);
    } finally {
      await cleanup();
    }
  });

  it('--all on S3: the same', { skip: skipWithoutS3 }, async () => {
    const s3 = s3TestEnv();
    assert.ok(s3);
    const { store, cleanup } = await makeTestS3Store({ prefix: 'forget-all' });
    const tmp = await mkdtemp(join(tmpdir(), 'strata-forget-all-s3-'));
    tmps.push(tmp);
    try {
      const url = `s3://${store.bucket}/forget-all?endpoint=${encodeURIComponent(s3.endpoint)}&region=${s3.region}&pathStyle=true`;
      await allScenario(url, { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey }, tmp, store);
    } finally {
      await cleanup();
    }
  });
});
