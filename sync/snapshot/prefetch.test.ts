// Reading the parent snapshot's trees ahead: few GETs, same meaning as one tree at a time.
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { StrataError } from '../errors.js';
import { openRepository, type Repository } from '../repo/index.js';
import { BEFORE_T0, newRepo, T0 } from '../repo/testkit.js';
import { keys, type BlobId, type TreeEntry } from '../repo/types.js';
import type { ByteRange } from '../store/index.js';
import { MemoryStore } from '../store/memory.js';
import { ParentTrees } from './prefetch.js';
import { takeSnapshot } from './snapshot.js';
import { aheadOfDisk, listDisk, listTree, withTmp, writeFiles } from './testkit.js';

const base = { layer: 'user/alice', device: 'laptop', now: aheadOfDisk };

/** 8 top folders × 5 × 4: 208 folders, one small file in each. */
function manyDirs(): Record<string, string> {
  const files: Record<string, string> = {};
  for (let a = 0; a < 8; a++) {
    files[`t${a}/f.txt`] = `top ${a}`;
    for (let b = 0; b < 5; b++) {
      files[`t${a}/m${b}/f.txt`] = `mid ${a}.${b}`;
      for (let c = 0; c < 4; c++) files[`t${a}/m${b}/l${c}/f.txt`] = `leaf ${a}.${b}.${c}`;
    }
  }
  return files;
}

/** Fails every GET of a pack once `failing` is set, as an unreachable bucket would. */
class PackOutage extends MemoryStore {
  failing = false;
  override async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    if (this.failing && key.startsWith('data/')) throw new StrataError('E_TRANSIENT', 'connection reset', { key });
    return super.get(key, range);
  }

  override async getStream(key: string, range?: ByteRange): Promise<Readable> {
    if (this.failing && key.startsWith('data/')) throw new StrataError('E_TRANSIENT', 'connection reset', { key });
    return super.getStream(key, range);
  }
}

async function subtreeOf(repo: Repository, tree: BlobId, name: string): Promise<BlobId> {
  const e = (await repo.loadTree(tree)).entries.find((x) => x.name === name);
  assert.equal(e?.type, 'dir');
  return (e as Extract<TreeEntry, { type: 'dir' }>).subtree;
}

/** Overwrites one byte of blob `id` in its pack, so that it no longer matches its id. */
async function corrupt(store: MemoryStore, repo: Repository, id: BlobId): Promise<void> {
  const loc = repo.blobLocation(id);
  assert.ok(loc);
  const key = keys.pack(loc.pack);
  const bytes = await store.get(key);
  bytes[loc.offset + 1] = (bytes[loc.offset + 1] ?? 0) ^ 0xff;
  await store.put(key, bytes);
}

describe('takeSnapshot: reading the parent trees ahead', () => {
  it('an incremental snapshot of 208 folders reads the parent trees in a few GETs', async () => {
    await withTmp(async (root) => {
      await writeFiles(root, manyDirs(), BEFORE_T0);
      const { store, repo } = await newRepo();
      await takeSnapshot(repo, { ...base, root });
      // A new process: a fresh Repository over the same bucket.
      const again = await openRepository(store, { now: () => T0 });
      const before = again.stats.gets;
      const second = await takeSnapshot(again, { ...base, root });
      const gets = again.stats.gets - before;
      assert.equal(second.stats.dirs, 209);
      assert.equal(second.stats.filesUnchanged, 208);
      assert.equal(second.stats.bytesRead, 0);
      // One tree per GET would be 209 GETs; by level it is one per level, plus head and snapshot.
      assert.ok(gets <= 20, `${gets} GETs`);
      assert.deepEqual(await listTree(again, second.snapshot.root), await listDisk(root));
    });
  });

  it("a deep parent is read about once: a level's coalesced reads also bring other levels' trees, which are kept", async () => {
    await withTmp(async (root) => {
      // 5 levels of 4 folders (1,365), a tiny file in each: the trees are nearly all the bytes.
      const files: Record<string, string> = {};
      const add = (dir: string, depth: number): void => {
        files[`${dir}f`] = '.';
        if (depth < 5) for (let i = 0; i < 4; i++) add(`${dir}d${i}/`, depth + 1);
      };
      add('', 0);
      await writeFiles(root, files, BEFORE_T0);
      const { store, repo } = await newRepo();
      await takeSnapshot(repo, { ...base, root });
      let packBytes = 0;
      for await (const info of store.list('data/')) packBytes += info.size;
      const again = await openRepository(store, { now: () => T0 });
      const before = again.stats.bytesDownloaded;
      const second = await takeSnapshot(again, { ...base, root });
      assert.equal(second.stats.filesUnchanged, Object.keys(files).length);
      const read = again.stats.bytesDownloaded - before;
      assert.ok(read < packBytes * 1.2, `read ${read} bytes of ${packBytes} bytes of packs`);
    });
  });

  it('a corrupt parent tree only makes its folder be read from disk again', async () => {
    await withTmp(async (root) => {
      await writeFiles(root, manyDirs(), BEFORE_T0);
      const { store, repo } = await newRepo();
      const first = await takeSnapshot(repo, { ...base, root });
      const t3 = await subtreeOf(repo, first.snapshot.root, 't3');
      const m2 = await subtreeOf(repo, await subtreeOf(repo, first.snapshot.root, 't5'), 'm2');
      await corrupt(store, repo, t3);
      await corrupt(store, repo, m2);
      const second = await takeSnapshot(repo, { ...base, root });
      // t3 and everything below it (26 files), t5/m2 and below it (5 files) are read again.
      assert.equal(second.stats.filesUnchanged, 208 - 26 - 5);
      assert.equal(second.stats.files, 208);
      // The same content gives the same tree (t3 and m2 stay corrupt in the pack: the test reads them no further).
      assert.equal(second.snapshot.root, first.snapshot.root);
    });
  });

  it('a store error while reading ahead stops the snapshot', async () => {
    await withTmp(async (root) => {
      await writeFiles(root, manyDirs(), BEFORE_T0);
      const store = new PackOutage();
      const { repo } = await newRepo({ store });
      const first = await takeSnapshot(repo, { ...base, root });
      store.failing = true;
      await assert.rejects(takeSnapshot(repo, { ...base, root }), (err: unknown) => err instanceof StrataError && err.code === 'E_TRANSIENT');
      store.failing = false;
      const { heads } = await repo.listHeads(base.layer);
      assert.deepEqual(heads.map((h) => h.snapshot), [first.snapshotId]);
    });
  });
});

describe('ParentTrees', () => {
  async function layered(): Promise<{ repo: Repository; root: BlobId; tree: (id: BlobId) => Promise<Map<string, TreeEntry>> }> {
    const { repo } = await newRepo();
    const dir = (name: string, subtree: BlobId): TreeEntry => ({ name, type: 'dir', mode: 0o755, mtimeMs: 0, subtree });
    const empty = await repo.saveTree({ entries: [] });
    const leaf = await repo.saveTree({ entries: [{ name: 'x', type: 'symlink', mtimeMs: 0, target: 'y' }] });
    // Identical folders (two empty ones, two copies of `leaf`) share one tree.
    const mid = await repo.saveTree({ entries: [dir('e1', empty), dir('e2', empty), dir('l1', leaf), dir('l2', leaf)] });
    const root = await repo.saveTree({ entries: [dir('a', mid), dir('b', mid), dir('e', empty)] });
    await repo.flush();
    const tree = async (id: BlobId) => new Map((await repo.loadTree(id)).entries.map((e) => [e.name, e]));
    return { repo, root, tree };
  }

  /** Takes every tree the way the walk does (depth first), checking each against loadTree. */
  async function walk(parents: ParentTrees, id: BlobId, tree: (id: BlobId) => Promise<Map<string, TreeEntry>>): Promise<number> {
    const dir = await parents.take(id);
    assert.deepEqual(new Map(dir), await tree(id));
    let taken = 1;
    for (const e of dir.values()) if (e.type === 'dir') taken += await walk(parents, e.subtree, tree);
    return taken;
  }

  it('hands out every tree as often as it is named and then holds nothing', async () => {
    const { repo, root, tree } = await layered();
    const parents = new ParentTrees(repo);
    assert.equal(await walk(parents, root, tree), 12);
    assert.equal(parents.heldEntries, 0);
  });

  it('with the entry budget spent, reads the trees below when the walk needs them', async () => {
    const { repo, root, tree } = await layered();
    const parents = new ParentTrees(repo, 1);
    const before = repo.stats.gets;
    await parents.take(root);
    assert.equal(repo.stats.gets - before, 1, 'only the root level');
    for (const name of ['a', 'b', 'e']) {
      const e = (await tree(root)).get(name);
      assert.equal(e?.type, 'dir');
      await walk(parents, (e as Extract<TreeEntry, { type: 'dir' }>).subtree, tree);
    }
    assert.equal(parents.heldEntries, 0);
  });

  it('gives no parent for an undefined, unknown or non-tree id', async () => {
    const { repo } = await newRepo();
    const parents = new ParentTrees(repo);
    const data = new TextEncoder().encode('not a tree');
    const id = repo.blobId(data);
    await repo.addBlob('data', id, data);
    await repo.flush();
    const before = repo.stats.gets;
    assert.equal((await parents.take(undefined)).size, 0);
    assert.equal((await parents.take(id)).size, 0);
    assert.equal((await parents.take('ab'.repeat(32))).size, 0);
    assert.equal(repo.stats.gets - before, 0);
  });
});
