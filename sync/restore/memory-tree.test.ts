import assert from 'node:assert/strict';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { StrataError } from '../errors.js';
import type { DiskNode } from '../plan/types.js';
import type { Repository } from '../repo/repository.js';
import type { BlobId } from '../repo/types.js';
import { restoreTree, type MemoryTree } from './index.js';
import { MTIME, dir, expectedListing, file, link, listing, newRepo, saveLayer, tempDir, type Spec } from './testkit.js';

/** The tree objects under `root` as the sign-in hands them to the restore: flat, parents first. */
async function memoryTreeOf(repo: Repository, root: BlobId): Promise<MemoryTree> {
  const nodes = new Map<string, DiskNode>();
  const chunks = new Map<string, readonly BlobId[]>();
  const dirMtimes = new Map<string, number>();
  const walk = async (id: BlobId, rel: string): Promise<void> => {
    for (const e of (await repo.loadTree(id)).entries) {
      const path = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.type === 'dir') {
        nodes.set(path, { type: 'dir', mode: e.mode });
        dirMtimes.set(path, e.mtimeMs);
        await walk(e.subtree, path);
      } else if (e.type === 'file') {
        const content = e.chunks.join(',');
        chunks.set(content, e.chunks);
        nodes.set(path, { type: 'file', size: e.size, mtimeMs: e.mtimeMs, mode: e.mode, content });
      } else if (e.type === 'symlink') nodes.set(path, { type: 'symlink', target: e.target, mtimeMs: e.mtimeMs });
    }
  };
  await walk(root, '');
  return { nodes, chunks, dirMtime: (p) => dirMtimes.get(p) ?? 0 };
}

async function failsWith(p: Promise<unknown>, code: string): Promise<StrataError> {
  const err = await p.catch((e: unknown) => e);
  assert.ok(err instanceof StrataError, `expected ${code}, got ${String(err)}`);
  assert.equal(err.code, code, err.toString());
  return err;
}

const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7 + (i >> 5)) & 0xff);

const SPEC: Spec = {
  'notes.txt': file('short note'),
  'script.sh': file('#!/bin/sh\necho hi\n', 0o755, MTIME + 5_000),
  docs: dir(
    {
      'big.bin': file(bytes(60_000, 1)),
      'empty.txt': file(''),
      deep: dir({ 'leaf.txt': file('leaf', 0o600, MTIME - 86_400_000) }, 0o700, MTIME + 1_000),
      latest: link('big.bin'),
    },
    0o750,
    MTIME + 2_000,
  ),
  'empty-dir': dir({}),
};

describe('restore: a tree in memory', () => {
  it('lays the same files, folders, links, modes and mtimes as the tree objects it came from', async (t) => {
    const { repo } = await newRepo();
    const root = await saveLayer(repo, SPEC);
    const base = await tempDir(t, 'memtree');
    const fromIds = join(base, 'ids');
    const fromMemory = join(base, 'memory');
    await restoreTree(repo, { target: fromIds, root });
    const stats = await restoreTree(repo, { target: fromMemory, root: await memoryTreeOf(repo, root) });
    assert.deepEqual(await listing(fromMemory), expectedListing(SPEC));
    assert.deepEqual(await listing(fromMemory), await listing(fromIds));
    assert.equal(stats.files, 5);
    assert.equal(stats.symlinks, 1);
    assert.equal(stats.dirs, 3);
    assert.equal(stats.bytesDownloaded, 60_000 + 10 + 18 + 4);
  });

  it('refuses, before writing anything, a file whose chunks are in no index, do not add up, or a symlink that leaves the root', async (t) => {
    const { repo } = await newRepo();
    const root = await saveLayer(repo, SPEC);
    const good = await memoryTreeOf(repo, root);
    const note = good.nodes.get('notes.txt');
    assert.equal(note?.type, 'file');
    const cases: [string, (nodes: Map<string, DiskNode>, chunks: Map<string, readonly BlobId[]>) => void, string, string][] = [
      ['unknown chunk', (n, c) => c.set(note.content, [repo.blobId(Buffer.from('not stored'))]), 'E_BLOB_NOT_FOUND', 'notes.txt'],
      ['wrong size', (n) => n.set('notes.txt', { ...note, size: note.size + 1 }), 'E_BAD_TREE', 'notes.txt'],
      ['empty symlink target', (n) => n.set('docs/latest', { type: 'symlink', target: '' }), 'E_BAD_SYMLINK', 'docs/latest'],
      ['file before its folder', (n) => n.set('nowhere/x.txt', note), 'E_INTERNAL', 'nowhere/x.txt'],
    ];
    for (const [name, spoil, code, path] of cases) {
      const nodes = new Map(good.nodes);
      const chunks = new Map(good.chunks);
      spoil(nodes, chunks);
      const target = join(await tempDir(t, 'memtree-bad'), 'target');
      await mkdir(target);
      const err = await failsWith(restoreTree(repo, { target, root: { ...good, nodes, chunks } }), code);
      assert.equal(err.path, path, name);
      assert.deepEqual(await readdir(target), [], `${name}: nothing written`);
    }
  });

  it('refuses `only` with a tree in memory (E_USAGE): only a root tree id can be descended', async (t) => {
    const { repo } = await newRepo();
    const root = await saveLayer(repo, SPEC);
    const target = await tempDir(t, 'memtree-only');
    await failsWith(restoreTree(repo, { target, root: await memoryTreeOf(repo, root), only: 'docs' }), 'E_USAGE');
    assert.deepEqual(await readdir(target), []);
  });
});
