/**
 * The executor's fetcher writes every byte of a file, whatever each write call takes: a write may
 * write fewer bytes than asked (POSIX allows it), and a gap left so would read as zeros.
 */
import assert from 'node:assert/strict';
import type { FileHandle } from 'node:fs/promises';
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
