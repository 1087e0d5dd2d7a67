/**
 * Seeding: finding the chunks a restore needs in files already on the machine (the golden image,
 * a previous session's leftovers, the target's old files) and copying them instead of downloading,
 * as casync and desync do.
 *
 * What must hold: a seeded chunk is re-read and verified against its id at copy time (the file may
 * have changed since it was chunked); a mismatch or a vanished file means "download it", never
 * "write these bytes". Seed folders are walked without following symlinks, each file at most once.
 *
 * Cost is bounded by chunking each seed file once, and by skipping files that cannot hold a needed
 * chunk: a file no longer than the chunker's minimum is a single chunk, useful only if its size
 * is the length of a needed chunk.
 */
import { constants, type Dirent } from 'node:fs';
import { lstat, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { blobId, type HashAlgorithm } from '../chunker/hash.js';
import { isStrataError } from '../errors.js';
import { forEachLimit } from '../repo/pool.js';
import type { BlobId, ChunkerParams } from '../repo/types.js';
import { NOFOLLOW, TEMP_PREFIX, isErrno } from './fsutil.js';
import type { ChunkFileFn } from './types.js';

export interface SeedSource {
  path: string;
  offset: number;
  length: number;
}

export interface SeedIndex {
  /** Where each needed chunk was found locally. */
  sources: Map<BlobId, SeedSource>;
  /** Full chunk lists of the candidate files (target files that may already be complete). */
  chunked: Map<string, BlobId[]>;
}

export interface ScanInput {
  roots: string[];
  /** Needed chunk id → length. */
  needed: Map<BlobId, number>;
  /** Paths whose whole chunk list is wanted, with their expected size. */
  candidates: Map<string, number>;
  params: ChunkerParams;
  hash: HashAlgorithm;
  chunkFile: ChunkFileFn;
  concurrency: number;
  signal?: AbortSignal;
}

async function listDir(dir: string): Promise<Dirent[]> {
  return readdir(dir, { withFileTypes: true }).catch((err: unknown) => {
    if (isErrno(err, 'ENOENT', 'ENOTDIR', 'EACCES', 'EPERM')) return [];
    throw err;
  });
}

/** Regular files under the roots with their sizes, each inode once; symlinks are not followed. */
async function walkSeeds(roots: string[], signal?: AbortSignal): Promise<{ path: string; size: number }[]> {
  const seen = new Set<string>();
  const files: { path: string; size: number }[] = [];
  const stack = [...roots];
  while (stack.length > 0) {
    signal?.throwIfAborted();
    const path = stack.pop() as string;
    const st = await lstat(path).catch(() => undefined);
    if (!st || (!st.isDirectory() && !st.isFile())) continue;
    const id = `${st.dev}:${st.ino}`;
    if (seen.has(id)) continue;
    seen.add(id);
    if (st.isFile()) {
      files.push({ path, size: st.size });
      continue;
    }
    for (const d of await listDir(path)) {
      if (d.name.startsWith(TEMP_PREFIX) || !(d.isDirectory() || d.isFile())) continue;
      stack.push(join(path, d.name));
    }
  }
  return files;
}

function mayHoldNeeded(size: number, input: ScanInput, lengths: Set<number>, minNeeded: number): boolean {
  if (size === 0 || size < minNeeded) return false;
  return size > input.params.minSize || lengths.has(size);
}

/** Chunks every useful seed file once and indexes the needed chunks found. */
export async function scanSeeds(input: ScanInput): Promise<SeedIndex> {
  const index: SeedIndex = { sources: new Map(), chunked: new Map() };
  const lengths = new Set(input.needed.values());
  const minNeeded = Math.min(...lengths);
  const files = (await walkSeeds(input.roots, input.signal)).filter(
    (f) => input.candidates.get(f.path) === f.size || (lengths.size > 0 && mayHoldNeeded(f.size, input, lengths, minNeeded)),
  );
  await forEachLimit(files, input.concurrency, async (f) => {
    input.signal?.throwIfAborted();
    const result = await input.chunkFile(f.path, input.params, input.hash).catch((err: unknown) => {
      // A seed that vanished or cannot be read is simply not a seed.
      if (isStrataError(err, 'E_FILE_READ') || isErrno(err, 'ENOENT', 'EACCES', 'EPERM', 'ELOOP', 'EISDIR', 'EIO')) return undefined;
      throw err;
    });
    if (!result) return;
    if (input.candidates.has(f.path)) index.chunked.set(f.path, result.chunks.map((c) => c.id));
    for (const c of result.chunks) {
      if (input.needed.get(c.id) === c.length && !index.sources.has(c.id)) index.sources.set(c.id, { path: f.path, offset: c.offset, length: c.length });
    }
  });
  return index;
}

/** The chunk's bytes from its seed file, or undefined when they are gone or no longer match. */
export async function readSeedChunk(src: SeedSource, id: BlobId, hash: HashAlgorithm): Promise<Uint8Array | undefined> {
  let fh;
  try {
    fh = await open(src.path, constants.O_RDONLY | NOFOLLOW);
    const buf = Buffer.allocUnsafe(src.length);
    let done = 0;
    while (done < src.length) {
      const { bytesRead } = await fh.read(buf, done, src.length - done, src.offset + done);
      if (bytesRead === 0) return undefined;
      done += bytesRead;
    }
    return blobId(buf, hash) === id ? buf : undefined;
  } catch {
    return undefined;
  } finally {
    await fh?.close().catch(() => undefined);
  }
}
