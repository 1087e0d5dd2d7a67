/**
 * Chunking files from disk, streaming: a file is read in READ_BUFFER pieces and never held whole.
 *
 * File system failures become StrataError E_FILE_READ naming the path; the errno code (ENOENT,
 * EACCES, EISDIR…) stays available as `cause.code` so that a scanner can tell a file that
 * vanished from one it may not read.
 */
import type { FileHandle } from 'node:fs/promises';
import { StrataError } from '../errors.js';
import { openRegular } from '../fsutil.js';
import type { ChunkerParams } from '../repo/types.js';
import { DEFAULT_HASH, type HashAlgorithm } from './hash.js';
import { ChunkHasher, type ChunkRef, type FileChunks } from './stream.js';

/** Large reads keep syscall and stream overhead negligible next to hashing. */
export const READ_BUFFER = 4 * 1024 * 1024;

export type { FileChunks };

export function fileReadError(path: string, err: unknown): StrataError {
  if (err instanceof StrataError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const reason = err instanceof Error ? err.message : String(err);
  return new StrataError('E_FILE_READ', `cannot read file (${code ?? 'error'}): ${reason}`, { path }, { cause: err });
}

/**
 * Chunk ids and boundaries of one file, computed on the calling thread. ChunkHasher keeps no
 * reference to the bytes it is fed, so two read buffers are reused for the whole file (fresh
 * buffers per read cost page faults and GC), and the next read runs while the current piece is
 * hashed.
 */
export async function chunkFileHere(path: string, params: ChunkerParams, hash: HashAlgorithm = DEFAULT_HASH): Promise<FileChunks> {
  const hasher = new ChunkHasher(params, hash);
  const chunks: ChunkRef[] = [];
  let fh: FileHandle | undefined;
  let reading: Promise<unknown> = Promise.resolve();
  try {
    fh = await openRegular(path);
    const file = fh;
    const buffers = [Buffer.allocUnsafe(READ_BUFFER), Buffer.allocUnsafe(READ_BUFFER)] as const;
    const read = (i: 0 | 1, position: number) => file.read(buffers[i], 0, READ_BUFFER, position);
    let next = read(0, 0);
    reading = next;
    for (let i: 0 | 1 = 0, position = 0; ; i = i === 0 ? 1 : 0) {
      const { bytesRead } = await next;
      if (bytesRead === 0) break;
      position += bytesRead;
      next = read(i === 0 ? 1 : 0, position);
      reading = next;
      for (const c of hasher.push(buffers[i].subarray(0, bytesRead))) chunks.push(c);
    }
  } catch (err) {
    throw fileReadError(path, err);
  } finally {
    await reading.catch(() => undefined);
    await fh?.close();
  }
  for (const c of hasher.end()) chunks.push(c);
  return { size: hasher.size, chunks };
}
