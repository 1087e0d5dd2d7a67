/**
 * Messages between the chunk pool and its workers. Errors cross the thread boundary as plain
 * data and are rebuilt as StrataError on the caller's side, keeping code, path and errno code.
 */
import { StrataError } from '../errors.js';
import type { ChunkerParams } from '../repo/types.js';
import type { FileChunks } from './file.js';
import type { HashAlgorithm } from './hash.js';

/** One file to read and chunk, or (`lengths`) many small files' bytes back to back in `bytes`. */
export type ChunkRequest =
  | { id: number; path: string; params: ChunkerParams; hash: HashAlgorithm }
  | { id: number; bytes: ArrayBuffer; lengths: number[]; params: ChunkerParams; hash: HashAlgorithm };

export interface WireError {
  code: string;
  message: string;
  path?: string;
  key?: string;
  /** The errno code of the underlying file system error, if any. */
  errno?: string;
}

export type ChunkReply =
  | { id: number; ok: true; result: FileChunks }
  | { id: number; ok: true; results: FileChunks[] }
  | { id: number; ok: false; error: WireError };

export function toWire(err: unknown): WireError {
  if (err instanceof StrataError) {
    const errno = (err.cause as NodeJS.ErrnoException | undefined)?.code;
    return { code: err.code, message: err.message, path: err.path, key: err.key, errno };
  }
  return { code: 'E_CHUNK_WORKER', message: err instanceof Error ? err.message : String(err) };
}

export function fromWire(e: WireError): StrataError {
  const cause = e.errno ? Object.assign(new Error(e.errno), { code: e.errno }) : undefined;
  return new StrataError(e.code as `E_${string}`, e.message, { path: e.path, key: e.key }, { cause });
}

/** The pieces of `bytes`, `lengths` long, back to back. */
export function splitBytes(bytes: Uint8Array, lengths: readonly number[]): Uint8Array[] {
  let at = 0;
  return lengths.map((n) => bytes.subarray(at, (at += n)));
}
