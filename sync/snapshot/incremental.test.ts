import assert from 'node:assert/strict';
import { open, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BEFORE_T0, newRepo, T0 } from '../repo/testkit.js';
import { makeRng, testSeed } from '../testing/random.js';
import { takeSnapshot } from './snapshot.js';
import { aheadOfDisk, listDisk, listTree, withTmp, writeFiles } from './testkit.js';

const MiB = 1024 * 1024;
const base = { layer: 'user/alice', device: 'laptop', now: aheadOfDisk };

async function touch(path: string, seconds: number): Promise<void> {
  const t = new Date(T0.getTime() + seconds * 1000);
  await utimes(path, t, t);
}

describe('takeSnapshot: incremental', () => {
  it('a 1 MiB overwrite in the middle of a 32 MiB file adds only the chunks around it', async () => {
    const rng = makeRng(testSeed('edit in the middle'));
    await withTmp(async (root) => {
      const big = join(root, 'disk.img');
      await writeFile(big, rng.bytes(32 * MiB));
      await writeFiles(root, { 'small.txt': 'unchanged' }, BEFORE_T0);
      const { repo } = await newRepo();
      const first = await takeSnapshot(repo, { ...base, root });
      assert.ok(first.stats.bytesAdded >= 32 * MiB);

      const fh = await open(big, 'r+');
      await fh.write(rng.bytes(MiB), 0, MiB, 16 * MiB);
      await fh.close();
      await touch(big, 60);
      const second = await takeSnapshot(repo, { ...base, root });
      assert.equal(second.stats.bytesRead, 32 * MiB, 'only the edited file is read');
      assert.equal(second.stats.filesUnchanged, 1);
      assert.ok(second.stats.bytesAdded >= MiB, `added ${second.stats.bytesAdded} bytes`);
      assert.ok(second.stats.bytesAdded <= 3 * MiB, `added ${second.stats.bytesAdded} bytes`);
      assert.deepEqual(await listTree(repo, second.snapshot.root), await listDisk(root));
    });
  });

  it('an append adds only the tail, and a deleted file leaves the tree', async () => {
    const rng = makeRng(testSeed('append'));
    await withTmp(async (root) => {
      const log = join(root, 'logs/app.log');
      await writeFiles(root, { 'logs/app.log': rng.bytes(4 * MiB), 'gone.txt': 'bye', 'stay/x.txt': 'x' });
      const { repo } = await newRepo();
      const first = await takeSnapshot(repo, { ...base, root });
      const fh = await open(log, 'a');
      await fh.write(rng.bytes(100_000));
      await fh.close();
      await touch(log, 60);
      await rm(join(root, 'gone.txt'));
      const second = await takeSnapshot(repo, { ...base, root });
      assert.ok(second.stats.bytesAdded < 1.5 * MiB, `added ${second.stats.bytesAdded} bytes`);
      const listing = await listTree(repo, second.snapshot.root);
      assert.deepEqual(listing, await listDisk(root));
      assert.equal(listing['gone.txt'], undefined);
      // The unchanged subtree keeps its id.
      const sub = async (rootId: string) => (await repo.loadTree(rootId)).entries.find((e) => e.name === 'stay');
      assert.deepEqual(await sub(second.snapshot.root), await sub(first.snapshot.root));
    });
  });

  it('an identical file elsewhere (a copy) adds no data blob', async () => {
    const rng = makeRng(testSeed('copy'));
    await withTmp(async (root) => {
      const bytes = rng.bytes(2 * MiB);
      await writeFiles(root, { 'a/original.bin': bytes }, BEFORE_T0);
      const { repo } = await newRepo();
      await takeSnapshot(repo, { ...base, root });
      await writeFiles(root, { 'b/copy.bin': bytes });
      const second = await takeSnapshot(repo, { ...base, root });
      assert.equal(second.stats.bytesRead, 2 * MiB);
      // Only trees are new: the root and b/.
      assert.equal(second.stats.blobsAdded, 2);
      assert.ok(second.stats.bytesAdded < 4096);
    });
  });

  it('a parent taken from another folder vouches for none of its files: two copies with the same sizes and mtimes keep their own bytes', async () => {
    await withTmp(async (tmp) => {
      const [a, b] = [join(tmp, 'a'), join(tmp, 'b')];
      // As two trees copied with cp -a and edited since: same names, sizes and mtimes, and every
      // ctime (B's written first) before either snapshot starts.
      await writeFiles(b, { 'notes.txt': 'copy B', 'same.txt': 'both' }, BEFORE_T0);
      await writeFiles(a, { 'notes.txt': 'copy A', 'same.txt': 'both' }, BEFORE_T0);
      const { repo } = await newRepo();
      // Each snapshot a minute after the last (ahead of the disk): one dated a millisecond after
      // its parent would be taken for one built on a clock ahead of this one (timeAfterParents).
      let minutes = 0;
      const now = () => new Date(aheadOfDisk().getTime() + ++minutes * 60_000);
      await takeSnapshot(repo, { ...base, now, root: a });
      const ofB = await takeSnapshot(repo, { ...base, now, root: b });
      assert.deepEqual(await listTree(repo, ofB.snapshot.root), await listDisk(b));
      assert.equal(ofB.stats.filesUnchanged, 0);
      // B again: its own parent now, so nothing is read.
      const again = await takeSnapshot(repo, { ...base, now, root: b });
      assert.equal(again.stats.filesUnchanged, 2);
      assert.equal(again.stats.bytesRead, 0);
      // A moved into B's place: the same path, another folder.
      await rm(b, { recursive: true });
      await rename(a, b);
      const moved = await takeSnapshot(repo, { ...base, now, root: b });
      assert.deepEqual(await listTree(repo, moved.snapshot.root), await listDisk(b));
      assert.equal(moved.stats.filesUnchanged, 0);
    });
  });
});
