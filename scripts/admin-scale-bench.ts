// Standalone measurement of the admin side at an organisation's scale: requests (CountingStore),
// time and peak heap.
//
//   node --expose-gc --import tsx scripts/admin-scale-bench.ts users <dir|s3> [users after each step…]
//     users with 1–3 devices, 1–5 snapshots each and a profile, built in steps (e.g. 250 500 1000
//     2000) in a folder store at <dir> (a tmpfs keeps fsync out of it), or on the S3 test server
//     (s3: STRATA_TEST_S3_* set, scripts/swift/server.sh); listUsers, then userReports, after each.
//   … publish <dir> [files] [versions]   an org layer of `files` files (500 a folder) published,
//     then again with one file changed (and case-insensitively); 20 small layers of `versions`
//     versions each; `admin layer list`'s report of them all.
//   … preload <dir> [files] [per folder]   a template into a new user layer, a second one into it,
//     then, after a device signed in, the first again with every file changed (three-way merge).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DirStore } from '../sync/store/dir.js';
import { CountingStore } from '../sync/store/counting.js';
import { initRepository, openRepository } from '../sync/repo/format.js';
import { FORMAT_VERSION } from '../sync/repo/types.js';
import { takeSnapshot } from '../sync/snapshot/index.js';
import { userReports, writeProfile } from '../sync/profile/index.js';
import { makeRng } from '../sync/testing/random.js';
import { heapBytes } from './heap.js';
import { forEachLimit } from '../sync/repo/pool.js';
import { makeTestS3Store } from '../sync/testing/s3.js';
import type { ObjectStore } from '../sync/store/index.js';

function peakSampler(): { stop: () => number } {
  let peak = process.memoryUsage().heapUsed;
  const t = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }, 20);
  return {
    stop: () => {
      clearInterval(t);
      return Math.max(peak, process.memoryUsage().heapUsed);
    },
  };
}

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

async function users(dir: string, steps: number[]): Promise<void> {
  let store: ObjectStore;
  if (dir === 's3') store = (await makeTestS3Store()).store;
  else {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    store = new DirStore(dir);
  }
  await initRepository(store, { id: 'bench' });
  const repo = await openRepository(store);
  const tmp = await mkdtemp(join(tmpdir(), 'adminscale-'));
  await writeFile(join(tmp, 'a.txt'), 'hello');
  const seed = await takeSnapshot(repo, { root: tmp, layer: 'user/seed', device: 'seeddevice' });
  await rm(tmp, { recursive: true, force: true });
  const root = seed.snapshot.root;
  let made = 0;
  const t0 = Date.parse('2025-01-01T00:00:00Z');
  for (const target of steps) {
    const todo = Array.from({ length: target - made }, (_, i) => made + i);
    made = target;
    await forEachLimit(todo, 16, async (made) => {
      const user = `u${String(made).padStart(5, '0')}`;
      const layer = `user/${user}`;
      await writeProfile(store, { version: 1, user, displayName: `User ${made}`, layers: ['org/base', `org/dept${made % 20}`], updated: new Date(t0).toISOString() });
      const rng = makeRng(made);
      const devices = rng.range(1, 3);
      for (let d = 0; d < devices; d++) {
        const device = `dev${made}x${d}`;
        const snaps = rng.range(1, 5);
        let last = '';
        let time = '';
        for (let s = 0; s < snaps; s++) {
          time = new Date(t0 + made * 1000 + d * 100 + s).toISOString();
          last = await repo.saveSnapshot({ version: FORMAT_VERSION, layer, device, time, root, parents: last ? [last] : [], summary: { files: 1, dirs: 0, bytes: 5, bytesAdded: 0 } });
        }
        await repo.writeHead(layer, device, last, time);
      }
    });
    const counting = new CountingStore(store);
    const r = await openRepository(counting, { loadIndex: false });
    const { listUsers } = await import('../sync/profile/index.js');
    const l0 = performance.now();
    const listed = await listUsers(counting);
    console.log(`  listUsers alone: ${listed.names.length} names, ${((performance.now() - l0) / 1000).toFixed(2)} s, LIST ${counting.counts.lists}`);
    counting.counts.lists = 0;
    const before = heapBytes();
    const sampler = peakSampler();
    const start = performance.now();
    const res = await userReports(r);
    const ms = performance.now() - start;
    const peak = sampler.stop();
    const held = heapBytes();
    const c = counting.counts;
    console.log(
      `${target} users: ${res.users.length} reports, ${(ms / 1000).toFixed(2)} s; GET ${c.gets} LIST ${c.lists} HEAD ${c.heads} (per user ${((c.gets + c.lists + c.heads) / target).toFixed(2)}); heap peak +${mib(peak - before)}, held after +${mib(held - before)}`,
    );
  }
}

const [mode, dir, ...rest] = process.argv.slice(2);
if (mode === 'users') await users(dir ?? '/dev/shm/adminscale-users', rest.map(Number));
else if (mode === 'publish') await publishBench(dir ?? '/dev/shm/adminscale-publish', Number(rest[0] ?? 50000), Number(rest[1] ?? 5));
else if (mode === 'preload') await preloadBench(dir ?? '/dev/shm/adminscale-preload', Number(rest[0] ?? 20000), Number(rest[1] ?? 500));
else throw new Error('usage: users <dir> [steps…]');

/** A folder of `n` small files, 500 a folder, in `dir`. */
async function makeFolder(dir: string, n: number, tag: string): Promise<void> {
  for (let i = 0; i < n; i++) {
    const sub = join(dir, `d${Math.floor(i / 500)}`);
    if (i % 500 === 0) await mkdir(sub, { recursive: true });
    await writeFile(join(sub, `f${i}.txt`), `${tag} file ${i} ${'x'.repeat(i % 300)}`);
  }
}

async function measured<T>(what: string, counting: CountingStore, fn: () => Promise<T>): Promise<T> {
  const c0 = { ...counting.counts };
  const before = heapBytes();
  const sampler = peakSampler();
  const start = performance.now();
  const out = await fn();
  const ms = performance.now() - start;
  const peak = sampler.stop();
  const c = counting.counts;
  console.log(
    `${what}: ${(ms / 1000).toFixed(2)} s; GET ${c.gets - c0.gets} LIST ${c.lists - c0.lists} HEAD ${c.heads - c0.heads} PUT ${c.puts - c0.puts} (${mib(c.bytesUploaded - c0.bytesUploaded)} up, ${mib(c.bytesDownloaded - c0.bytesDownloaded)} down); heap peak +${mib(peak - before)}`,
  );
  return out;
}

export async function publishBench(dir: string, files: number, versions: number): Promise<void> {
  const { publishOrgLayer, orgLayerReports } = await import('../sync/profile/index.js');
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'store'), { recursive: true });
  const store = new DirStore(join(dir, 'store'));
  await initRepository(store, { id: 'bench' });
  const src = join(dir, 'src');
  await makeFolder(src, files, 'v1');
  const counting = new CountingStore(store);
  let repo = await openRepository(counting, { loadIndex: false });
  await measured(`publish v1 of ${files} files`, counting, () => publishOrgLayer(repo, 'org/big', { from: src, caseInsensitive: false }));
  await writeFile(join(src, 'd3', 'f1700.txt'), 'changed');
  repo = await openRepository(counting, { loadIndex: false });
  await measured('publish v2 (one file changed)', counting, () => publishOrgLayer(repo, 'org/big', { from: src, caseInsensitive: false }));
  repo = await openRepository(counting, { loadIndex: false });
  await measured('publish v3 (case-insensitive, one file changed)', counting, async () => {
    await writeFile(join(src, 'd3', 'f1700.txt'), 'changed again');
    return publishOrgLayer(repo, 'org/big', { from: src, caseInsensitive: true });
  });
  const small = join(dir, 'small');
  for (let l = 0; l < 20; l++) {
    for (let v = 0; v < versions; v++) {
      await rm(small, { recursive: true, force: true });
      await makeFolder(small, 20, `l${l}v${v}`);
      await publishOrgLayer(repo, `org/dept${l}`, { from: small, caseInsensitive: false });
    }
  }
  repo = await openRepository(counting, { loadIndex: false });
  await measured(`layer list (21 layers, ${versions} versions each)`, counting, () => orgLayerReports(repo));
}

/** A template of `n` files, `perDir` a folder, content tagged. */
async function makeTemplate(dir: string, n: number, perDir: number, tag: string, prefix = 'f'): Promise<void> {
  for (let i = 0; i < n; i++) {
    const sub = join(dir, `d${Math.floor(i / perDir)}`);
    if (i % perDir === 0) await mkdir(sub, { recursive: true });
    await writeFile(join(sub, `${prefix}${i}.txt`), `${tag} ${prefix} ${i}`);
  }
}

export async function preloadBench(dir: string, files: number, perDir: number): Promise<void> {
  const { preloadUserLayer } = await import('../sync/profile/index.js');
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'store'), { recursive: true });
  const store = new DirStore(join(dir, 'store'));
  await initRepository(store, { id: 'bench' });
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  await makeTemplate(a, files, perDir, 'A1');
  await makeTemplate(b, 2000, 500, 'B1', 'g');
  const counting = new CountingStore(store);
  const open = () => openRepository(counting, { loadIndex: false });
  const opts = (from: string) => ({ from, caseInsensitive: false });
  await measured(`preload ${files} files (${perDir} a folder) into a new layer`, counting, async () => preloadUserLayer(await open(), 'alice', opts(a)));
  await measured('preload a second template (2000 files) into it (extend)', counting, async () => preloadUserLayer(await open(), 'alice', opts(b)));
  // The user signs in: a device's head on the layer's latest snapshot (as its first sync writes).
  const repo = await open();
  await repo.loadIndex();
  const latest = await repo.latestSnapshot('user/alice');
  if (!latest) throw new Error('no snapshot');
  const id = await repo.saveSnapshot({ ...latest.snapshot, device: 'laptop', parents: [latest.id], time: new Date(Date.parse(latest.snapshot.time) + 1000).toISOString() });
  await repo.writeHead('user/alice', 'laptop', id);
  await rm(a, { recursive: true, force: true });
  await makeTemplate(a, files, perDir, 'A2');
  const r = await measured(`preload template A v2 (every file changed) after sign-in (three-way)`, counting, async () => preloadUserLayer(await open(), 'alice', opts(a)));
  console.log(`  kept both: ${r.kept.length}; layer ${r.snapshot.summary?.files} files`);
}
