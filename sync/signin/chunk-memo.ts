/**
 * Chunking a local file once per sign-in. The first-contact check chunks local files to compare
 * them with the layer, and each restore phase chunks the target's files again (to seed, and to
 * find files already complete); this wrapper answers repeats from memory.
 *
 * A result is reused only while the file keeps its device, inode, size and mtime — the stat-cache
 * rule the agent uses too. A rename keeps the inode, so a file moved aside as a conflict copy is
 * not read again to seed the restore. Seeded bytes are re-verified at copy time whatever this says.
 */
import { lstat } from 'node:fs/promises';
import type { ChunkerParams } from '../repo/types.js';
import type { ChunkFileFn, ChunkedFile } from '../restore/index.js';

export function memoChunkFile(inner: ChunkFileFn): ChunkFileFn {
  const done = new Map<string, ChunkedFile>();
  const keyOf = async (path: string, params: ChunkerParams, hash: string): Promise<string> => {
    const st = await lstat(path, { bigint: true });
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${params.minSize}:${params.avgSize}:${params.maxSize}:${hash}`;
  };
  return async (path, params, hash) => {
    const key = await keyOf(path, params, hash);
    const known = done.get(key);
    if (known) return known;
    const result = await inner(path, params, hash);
    // A file that changed while it was read is not remembered.
    if ((await keyOf(path, params, hash).catch(() => '')) === key) done.set(key, result);
    return result;
  };
}
