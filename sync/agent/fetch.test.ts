/**
 * The executor's fetcher writes every byte of a file, whatever each write call takes: a write may
 * write fewer bytes than asked (POSIX allows it), and a gap left so would read as zeros.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { contentKey, type FileNode } from '../plan/index.js';
import { openRepository } from '../repo/index.js';
import { MemoryStore } from '../store/memory.js';
import { makeFetcher } from './fetch.js';
import { initStore } from './testkit.js';

/** A handle whose writes each take at most `most` bytes, into `into`. */
function shortWrites(into: Buffer, most: number): FileHandle {
  const handle = {
    write: async (data: Uint8Array, offset: number, length: number, position: number) => {
      const n = Math.min(length, most);
      into.set(data.subarray(offset, offset + n), position);
      return { bytesWritten: n, buffer: data };
    },
  };
  return handle as unknown as FileHandle;
}

for (const size of [10, 2 << 20]) {
  test(`writes all of a ${size < 1 << 20 ? 'small' : 'large'} file through writes that each take a few bytes`, async () => {
    const store = new MemoryStore();
    await initStore(store);
    const repo = await openRepository(store);
    const parts = [Buffer.alloc(size / 2, 'a'), Buffer.alloc(size / 2, 'b')];
    const ids = parts.map((p) => repo.blobId(p));
    for (const [i, p] of parts.entries()) await repo.addBlob('data', ids[i]!, p);
    await repo.flush();
    const node: FileNode = { type: 'file', size, mode: 0o644, mtimeMs: 0, content: contentKey(ids) };
    const fetcher = makeFetcher(repo, [{ op: 'write', path: 'f', node, expect: null }], new Map([[node.content, ids]]));
    const into = Buffer.alloc(size);
    await fetcher.fetch(node, shortWrites(into, 3), 'f');
    assert.ok(into.equals(Buffer.concat(parts)), 'every byte was written');
  });
}

test('a large file takes the chunks the file it replaces holds, each verified against its id, and downloads the rest', async (t) => {
  const store = new MemoryStore();
  await initStore(store);
  const repo = await openRepository(store);
  const part = (c: string) => Buffer.alloc(1 << 20, c);
  const [a, b, c] = [part('a'), part('b'), part('c')];
  const [ia, ib, ic] = [a, b, c].map((p) => repo.blobId(p)) as [string, string, string];
  for (const [i, p] of [a, b, c].entries()) await repo.addBlob('data', [ia, ib, ic][i]!, p);
  await repo.flush();
  const oldNode: FileNode = { type: 'file', size: 2 << 20, mode: 0o644, mtimeMs: 0, content: contentKey([ia, ib]) };
  const node: FileNode = { type: 'file', size: 3 << 20, mode: 0o644, mtimeMs: 0, content: contentKey([ib, ia, ic]) };
  const dir = await mkdtemp(join(tmpdir(), 'strata-fetch-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const oldPath = join(dir, 'f');
  // Chunk a is as its id says; where b should be the file now holds other bytes.
  await writeFile(oldPath, Buffer.concat([a, part('x')]));
  const chunks = new Map([
    [oldNode.content, [ia, ib]],
    [node.content, [ib, ia, ic]],
  ]);
  const fetcher = makeFetcher(repo, [{ op: 'write', path: 'f', node, expect: oldNode }], chunks);
  const into = Buffer.alloc(3 << 20);
  await fetcher.fetch(node, shortWrites(into, 1 << 30), join(dir, 'tmp'), { path: oldPath, node: oldNode });
  assert.ok(into.equals(Buffer.concat([b, a, c])), 'every byte is the new content');
  assert.equal(fetcher.bytes, 2 << 20, 'b (its local bytes did not match its id) and c were downloaded, a was not');
});
