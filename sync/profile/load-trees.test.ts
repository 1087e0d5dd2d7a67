// Loading a layer's trees: every tree below the roots, in one round of requests for trees one
// snapshot wrote together, and a tree of the same pack that is not needed and cannot be read fails
// nothing. Trees kept on the machine are read from there, the rest fetched; a source holding none is
// never asked for one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blobId } from '../chunker/hash.js';
import { openRepository, type Repository } from '../repo/index.js';
import { newRepo } from '../repo/testkit.js';
import type { BlobId, Tree } from '../repo/types.js';
import { CountingStore } from '../store/counting.js';
import { loadAllTrees, type KeptTreeSource } from './load-trees.js';

/** A KeptTreeSource over `kept` that records the ids each read asked for. */
function keptSource(kept: ReadonlyMap<BlobId, Uint8Array>): KeptTreeSource & { asked: BlobId[][] } {
  const asked: BlobId[][] = [];
  return {
    asked,
    has: (id) => kept.has(id),
    read: (ids) => {
      asked.push([...ids]);
      return Promise.resolve(new Map(ids.flatMap((id) => (kept.has(id) ? [[id, kept.get(id)!] as const] : []))));
    },
  };
}

/** A chain of `depth` folders, each with a sibling folder holding one empty file; returns the root. */
async function deepTree(repo: Repository, depth: number, tag: string): Promise<{ root: BlobId; count: number }> {
  const mtime = 1_700_000_000_000;
  let below: BlobId | undefined;
  let count = 0;
  for (let d = depth; d > 0; d--) {
    const leaf = await repo.saveTree({ entries: [{ type: 'file', name: `${tag}-${d}.txt`, mode: 0o644, mtimeMs: mtime, size: 0, chunks: [] }] });
    const entries: Tree['entries'] = [{ type: 'dir', name: `leaf${d}`, mode: 0o755, mtimeMs: mtime, subtree: leaf }];
    if (below) entries.unshift({ type: 'dir', name: `deeper${d}`, mode: 0o755, mtimeMs: mtime, subtree: below });
    below = await repo.saveTree({ entries });
    count += 2;
  }
  assert.ok(below);
  return { root: below, count };
}

describe('loadAllTrees', () => {
  it('loads every tree below the roots, one round of requests for trees written together', async () => {
    const { store, repo } = await newRepo();
    const { root, count } = await deepTree(repo, 8, 'a');
    await repo.flush();
    const counting = new CountingStore(store);
    const reader = await openRepository(counting);
    const before = counting.counts.gets;
    const trees = await loadAllTrees(reader, [root]);
    assert.equal(trees.size, count);
    // One ranged GET of the pack; level by level it would be 8.
    assert.equal(counting.counts.gets - before, 1);
  });

  it('loads what it needs when a tree of the same pack that it does not need cannot be read', async () => {
    const { store, repo } = await newRepo();
    const { root, count } = await deepTree(repo, 4, 'b');
    // A "tree" blob whose bytes are no tree: verified by its id, refused by the tree decoder.
    const junk = new TextEncoder().encode('not a tree');
    await repo.addBlob('tree', blobId(junk, repo.format.hash), junk);
    await repo.flush();
    const reader = await openRepository(store);
    const trees = await loadAllTrees(reader, [root]);
    assert.equal(trees.size, count);
    assert.equal(trees.has(blobId(junk, repo.format.hash)), false);
  });
});

describe('loadAllTrees with kept trees', () => {
  it('reads the kept ones from there and fetches only the rest, without their pack mates', async () => {
    const { store, repo } = await newRepo();
    const { root, count } = await deepTree(repo, 6, 'c');
    await repo.flush();
    const all = new Map<BlobId, Uint8Array>();
    await loadAllTrees(await openRepository(store), [root], new Map(), new Map(), { bytes: all });
    // Every tree kept but the root and one leaf.
    const rootTree = await repo.loadTree(root);
    const leaf = rootTree.entries.find((e) => e.name === 'leaf1');
    assert.ok(leaf?.type === 'dir');
    const kept = new Map([...all].filter(([id]) => id !== root && id !== leaf.subtree));
    const counting = new CountingStore(store);
    const reader = await openRepository(counting);
    const before = counting.counts.bytesDownloaded;
    const fetched = new Map<BlobId, Uint8Array>();
    const trees = await loadAllTrees(reader, [root], new Map(), new Map(), { bytes: fetched, kept: keptSource(kept) });
    assert.equal(trees.size, count);
    assert.deepEqual(new Set(fetched.keys()), new Set([root, leaf.subtree]));
    assert.equal(counting.counts.bytesDownloaded - before, all.get(root)!.byteLength + all.get(leaf.subtree)!.byteLength);
  });

  it('asks a source that holds none of them for nothing', async () => {
    const { store, repo } = await newRepo();
    const { root, count } = await deepTree(repo, 4, 'd');
    await repo.flush();
    const none = keptSource(new Map());
    const trees = await loadAllTrees(await openRepository(store), [root], new Map(), new Map(), { kept: none });
    assert.equal(trees.size, count);
    assert.deepEqual(none.asked, []);
  });
});
