/**
 * Chunking a local file once per sign-in. The first-contact check chunks local files to compare
 * them with the layer, and each restore phase chunks the target's files again (to seed, and to
 * find files already complete); this memo answers repeats from memory.
 *
 * A result is reused only while the file keeps its device, inode, size and mtime — the stat-cache
 * rule the agent uses too. A rename keeps the inode, so a file moved aside as a conflict copy is
 * not read again to seed the restore. Seeded bytes are re-verified at copy time whatever this says,
 * which is why two shortcuts are safe, and why they exist (lay.ts uses them):
 * - `only(worth)`: a file whose size `worth` rejects is not read at all and offers no chunks —
 *   before ready, reading a golden image's large files to seed small ones costs seconds for chunks
 *   they almost never hold;
 * - `remember`: the chunk list of a file the restore just wrote from the layer is known, so the
 *   next phase need not read it back to seed from it.
 *
 * Small files go in batches as well (`filesOnly`, over a ChunkFilesFn: chunker/small.ts), answered
 * from memory or chunked many at once, under the same rules; a file a batch could not take (it
 * changed as it was read) is answered undefined and goes by path, as restore's seed scan expects.
 */
import type { BigIntStats } from 'node:fs';
import { lstatSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import type { HashAlgorithm } from '../chunker/hash.js';
import type { ChunkerParams } from '../repo/types.js';
import type { ChunkFileFn, ChunkFilesFn, ChunkedFile, FileStat } from '../restore/index.js';

function keyOf(st: BigIntStats, params: ChunkerParams, hash: HashAlgorithm): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${params.minSize}:${params.avgSize}:${params.maxSize}:${hash}`;
}

export class ChunkMemo {
  private readonly done = new Map<string, ChunkedFile>();

  constructor(
    private readonly inner: ChunkFileFn,
    private readonly innerFiles?: ChunkFilesFn,
  ) {}

  /** The file's chunks, from memory while it is unchanged. */
  readonly chunkFile: ChunkFileFn = (path, params, hash) => this.chunk(path, params, hash, () => true);

  /** As chunkFile, except that a file whose size `worth` rejects is not read: it offers no chunks. */
  only(worth: (size: number) => boolean): ChunkFileFn {
    return (path, params, hash) => this.chunk(path, params, hash, worth);
  }

  /** As only(worth) for many small files at once; undefined without a ChunkFilesFn to batch them. */
  filesOnly(worth: (size: number) => boolean = () => true): ChunkFilesFn | undefined {
    const innerFiles = this.innerFiles;
    if (!innerFiles) return undefined;
    return (files, params, hash) => this.chunkMany(innerFiles, files, params, hash, worth);
  }

  /** Records `file` as the chunks of `path` as it is now (a file just written with exactly them). */
  async remember(path: string, params: ChunkerParams, hash: HashAlgorithm, file: ChunkedFile): Promise<void> {
    const st = await lstat(path, { bigint: true });
    if (st.isFile() && Number(st.size) === file.size) this.done.set(keyOf(st, params, hash), file);
  }

  private async chunk(path: string, params: ChunkerParams, hash: HashAlgorithm, worth: (size: number) => boolean): Promise<ChunkedFile> {
    const st = await lstat(path, { bigint: true });
    const key = keyOf(st, params, hash);
    const known = this.done.get(key);
    if (known) return known;
    if (!worth(Number(st.size))) return { size: Number(st.size), chunks: [] };
    const result = await this.inner(path, params, hash);
    // A file that changed while it was read is not remembered.
    const after = await lstat(path, { bigint: true }).catch(() => undefined);
    if (after && keyOf(after, params, hash) === key) this.done.set(key, result);
    return result;
  }

  private async chunkMany(
    innerFiles: ChunkFilesFn,
    files: readonly { path: string; st: FileStat }[],
    params: ChunkerParams,
    hash: HashAlgorithm,
    worth: (size: number) => boolean,
  ): Promise<(ChunkedFile | undefined)[]> {
    // Synchronous lstats: a batch exists to save small files their round trips to the thread pool.
    const keys = files.map((f) => lstatKey(f.path, params, hash));
    const out: (ChunkedFile | undefined)[] = files.map((f, i) => {
      const known = keys[i] === undefined ? undefined : this.done.get(keys[i]);
      return known ?? (worth(f.st.size) ? undefined : { size: f.st.size, chunks: [] });
    });
    const todo = files.flatMap((f, i) => (out[i] === undefined && keys[i] !== undefined ? [i] : []));
    if (todo.length === 0) return out;
    const results = await innerFiles(
      todo.map((i) => files[i]!),
      params,
      hash,
    );
    for (const [j, i] of todo.entries()) {
      const result = results[j];
      if (result === undefined) continue;
      out[i] = result;
      // A file that changed while it was read is not remembered.
      const key = keys[i]!;
      if (lstatKey(files[i]!.path, params, hash) === key) this.done.set(key, result);
    }
    return out;
  }
}

function lstatKey(path: string, params: ChunkerParams, hash: HashAlgorithm): string | undefined {
  try {
    return keyOf(lstatSync(path, { bigint: true }), params, hash);
  } catch {
    return undefined;
  }
}
