// Write order, devices, parents and aborts: what the bucket holds after (or during) a snapshot.
import assert from 'node:assert/strict';
import { utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openRepository } from '../repo/format.js';
import type { Repository } from '../repo/index.js';
import { BEFORE_T0, RecordingStore, newRepo, T0 } from '../repo/testkit.js';
import type { BlobId } from '../repo/types.js';
import { makeRng, testSeed } from '../testing/random.js';
import { takeSnapshot } from './snapshot.js';
import { aheadOfDisk, listDisk, listTree, withTmp, writeFiles } from './testkit.js';

const layer = 'user/alice';
// Ahead of the disk's clock, so that a device's own parent vouches for the files written (aheadOfDisk).
const start = aheadOfDisk().getTime();
const at = (minutes: number) => () => new Date(start + minutes * 60_000);

/** Every blob id a tree references, recursively (trees included). */
async function blobsOf(repo: Repository, tree: BlobId, out = new Set<BlobId>()): Promise<Set<BlobId>> {
  out.add(tree);
  for (const e of (await repo.loadTree(tree)).entries) {
    if (e.type === 'dir') await blobsOf(repo, e.subtree, out);
    if (e.type === 'file') for (const c of e.chunks) out.add(c);
  }
  return out;
}

describe('takeSnapshot: write order', () => {
  it('puts packs and indexes, then the snapshot, then the head', async () => {
    const rng = makeRng(testSeed('write order'));
    await withTmp(async (root) => {
      await writeFiles(root, { 'a.bin': rng.bytes(3_000_000), 'b/c.txt': 'c', 'd.bin': rng.bytes(500_000) });
      const { store } = await newRepo({ packSize: 1024 * 1024 });
      const recording = new RecordingStore(store);
      const repo = await openRepository(recording, { now: () => T0 });
      const { snapshotId } = await takeSnapshot(repo, { root, layer, device: 'laptop' });
      const kinds = recording.puts.map((k) => (k.startsWith('data/') || k.startsWith('index/') ? 'blobs' : k.includes('/snapshots/') ? 'snapshot' : k.includes('/heads/') ? 'head' : k));
      const firstSnapshot = kinds.indexOf('snapshot');
      assert.ok(kinds.filter((k) => k === 'blobs').length >= 4, `several packs and an index: ${recording.puts.join(', ')}`);
      assert.ok(kinds.slice(0, firstSnapshot).every((k) => k === 'blobs'));
      assert.deepEqual(kinds.slice(firstSnapshot), ['snapshot', 'head']);
      assert.ok(recording.puts.indexOf(`layers/${layer}/snapshots/${snapshotId}`) < recording.puts.indexOf(`layers/${layer}/heads/laptop`));
      assert.ok(recording.puts.some((k) => k.startsWith('index/')));
    });
  });
});

describe('takeSnapshot: devices and parents', () => {
  it('two devices snapshot one layer at once: both heads valid, every blob readable', async () => {
    const rng = makeRng(testSeed('two devices'));
    await withTmp(async (dir) => {
      const shared = rng.bytes(1_500_000);
      const rootA = join(dir, 'a');
      const rootB = join(dir, 'b');
      await writeFiles(rootA, { 'shared.bin': shared, 'only-a.bin': rng.bytes(700_000), 'docs/x.txt': 'from a' });
      await writeFiles(rootB, { 'shared.bin': shared, 'only-b.bin': rng.bytes(700_000), 'docs/y.txt': 'from b' });
      const { store } = await newRepo({ packSize: 512 * 1024 });
      const [repoA, repoB] = await Promise.all([openRepository(store, { now: at(1) }), openRepository(store, { now: at(1) })]);
      const [a, b] = await Promise.all([
        takeSnapshot(repoA, { root: rootA, layer, device: 'desk', now: at(1) }),
        takeSnapshot(repoB, { root: rootB, layer, device: 'laptop', now: at(1) }),
      ]);
      const fresh = await openRepository(store);
      const { heads, errors } = await fresh.listHeads(layer);
      assert.deepEqual(errors, []);
      assert.deepEqual(heads.map((h) => [h.device, h.snapshot]).sort(), [['desk', a.snapshotId], ['laptop', b.snapshotId]]);
      for (const [snap, root] of [[a, rootA], [b, rootB]] as const) {
        const loaded = await fresh.loadSnapshot(layer, snap.snapshotId);
        const ids = await blobsOf(fresh, loaded.root);
        for (const id of ids) await fresh.readBlob(id);
        assert.deepEqual(await listTree(fresh, loaded.root), await listDisk(root));
      }
    });
  });

  it("builds on this device's head by default, else on the newest head of any device", async () => {
    await withTmp(async (root) => {
      await writeFiles(root, { 'f.txt': 'f' }, BEFORE_T0);
      const { store, repo } = await newRepo();
      const desk1 = await takeSnapshot(repo, { root, layer, device: 'desk', now: at(1) });
      const other = await openRepository(store);
      // A new device starts from the newest snapshot any head names, but reads its own folder:
      // another machine's stat cache says nothing about it. The chunks are known, so none is added.
      const laptop1 = await takeSnapshot(other, { root, layer, device: 'laptop', now: at(2) });
      assert.deepEqual(laptop1.snapshot.parents, [desk1.snapshotId]);
      assert.equal(laptop1.stats.bytesRead, 1);
      assert.equal(laptop1.stats.blobsAdded, 0, 'the same tree and chunk ids');
      const laptop2 = await takeSnapshot(other, { root, layer, device: 'laptop', now: at(3) });
      assert.deepEqual(laptop2.snapshot.parents, [laptop1.snapshotId]);
      assert.equal(laptop2.stats.bytesRead, 0, 'its own snapshot vouches for the folder');
      // desk's own head wins over laptop's newer one.
      const desk2 = await takeSnapshot(repo, { root, layer, device: 'desk', now: at(4) });
      assert.deepEqual(desk2.snapshot.parents, [desk1.snapshotId]);
      // An explicit parent is used as given.
      const explicit = await takeSnapshot(repo, { root, layer, device: 'desk', now: at(5), parent: laptop1.snapshotId });
      assert.deepEqual(explicit.snapshot.parents, [laptop1.snapshotId]);
    });
  });

  it("does not take its own parent's word for files when that parent's time is another device's clock", async () => {
    await withTmp(async (root) => {
      await writeFiles(root, { 'f.txt': 'aaaa' }, BEFORE_T0);
      const f = join(root, 'f.txt');
      const { repo } = await newRepo();
      // desk's clock runs a day ahead: laptop's first snapshot, built on desk's, is dated after it.
      await takeSnapshot(repo, { root, layer, device: 'desk', now: () => new Date(Date.now() + 86_400_000) });
      const laptop1 = await takeSnapshot(repo, { root, layer, device: 'laptop' });
      // A same-size edit whose mtime was set back, made after laptop1 started by the system clock.
      await writeFile(f, 'bbbb');
      await utimes(f, BEFORE_T0, BEFORE_T0);
      const laptop2 = await takeSnapshot(repo, { root, layer, device: 'laptop' });
      assert.deepEqual(laptop2.snapshot.parents, [laptop1.snapshotId]);
      assert.deepEqual(await listTree(repo, laptop2.snapshot.root), await listDisk(root));
      // Once this clock has passed laptop1's time, that time still says nothing of when laptop1 read the files.
      await writeFile(f, 'cccc');
      await utimes(f, BEFORE_T0, BEFORE_T0);
      const laptop3 = await takeSnapshot(repo, { root, layer, device: 'laptop', parent: laptop1.snapshotId, now: () => new Date(Date.now() + 2 * 86_400_000) });
      assert.deepEqual(await listTree(repo, laptop3.snapshot.root), await listDisk(root));
    });
  });

  it('a snapshot aborted half-way writes no snapshot and no head; the next one succeeds', async () => {
    const rng = makeRng(testSeed('abort'));
    await withTmp(async (root) => {
      for (let i = 0; i < 20; i++) await writeFile(join(root, `f${String(i).padStart(2, '0')}.bin`), rng.bytes(100_000));
      const { store, repo } = await newRepo({ packSize: 256 * 1024 });
      const controller = new AbortController();
      const onProgress = (p: { files: number }) => {
        if (p.files >= 5) controller.abort();
      };
      await assert.rejects(takeSnapshot(repo, { root, layer, device: 'laptop', onProgress, signal: controller.signal }), { name: 'AbortError' });
      const keys: string[] = [];
      for await (const { key } of store.list('layers/')) keys.push(key);
      assert.deepEqual(keys, []);
      const done = await takeSnapshot(repo, { root, layer, device: 'laptop' });
      assert.deepEqual(await listTree(repo, done.snapshot.root), await listDisk(root));
    });
  });
});
