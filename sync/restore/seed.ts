/**
 * Seeding: finding the chunks a restore needs in files already on the machine (the golden image,
 * a previous session's leftovers, the target's old files) and copying them instead of downloading,
 * as casync and desync do.
 *
 * What must hold: a seeded chunk is re-read and verified against its id at copy time (the file may
 * have changed since it was chunked; seedcopy.ts); a mismatch or a vanished file means "download
 * it", never "write these bytes". Seed folders are walked without following symlinks, each file at
 * most once, and folders the restore itself just created (empty but for other new folders) are
 * not walked at all; a restore that follows another over the same target and seeds takes that
 * one's walk, looking again only at what the other wrote (walkAgain).
 *
 * Cost is bounded by chunking each seed file once, and by skipping files that cannot hold a needed
 * chunk: a file no longer than the chunker's minimum is a single chunk, useful only if its size
 * is the length of a needed chunk. Small files are read whole and chunked many at a time
 * (chunkFiles, chunker/small.ts): one message to a worker for a batch, not one hashing on the
 * calling thread each.
 */
import type { Dirent, Stats } from 'node:fs';
import { breathe, listDirNow, lstatNow, readlinkNow } from './fsutil.js';
import { join } from 'node:path';
import type { HashAlgorithm } from '../chunker/hash.js';
import { isStrataError } from '../errors.js';
import { forEachLimit } from '../repo/pool.js';
import type { BlobId, ChunkerParams } from '../repo/types.js';
import { TEMP_PREFIX, isErrno } from '../fsutil.js';
import { batchesOf, SMALL_FILE } from '../chunker/small.js';
import type { ChunkedFile, ChunkFileFn, ChunkFilesFn } from './types.js';

/**
 * What a restore keeps of a regular file's lstat: its walk holds one for every file of the target
 * and the seeds, and a whole Stats (with its four Dates) cost a sign-in's walk of 20,000 files some
 * 10 MiB more heap (measured), which young-generation collections copied.
 */
export interface FileStat {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  mode: number;
  ino: number;
  dev: number;
}

/** The FileStat of `st`. */
export function fileStat(st: Stats): FileStat {
  return { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, mode: st.mode, ino: st.ino, dev: st.dev };
}

/**
 * What a walk saw at a path that is no folder: a regular file, a symbolic link with its target (read
 * as the walk found it: a link swapped in since for another one is told by it), or something else
 * (a FIFO, a socket; a link gone or replaced before its target was read).
 */
export type Found = FileStat | { link: string } | 'other';

/** A regular file as the walk listed it. */
export interface SeedFile {
  path: string;
  size: number;
  st: FileStat;
}

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
  /** The seed files (walkSeeds), minus those not to read. */
  files: readonly SeedFile[];
  /** Needed chunk id → length. */
  needed: Map<BlobId, number>;
  /** Paths whose whole chunk list is wanted, with their expected size. */
  candidates: Map<string, number>;
  params: ChunkerParams;
  hash: HashAlgorithm;
  chunkFile: ChunkFileFn;
  /** Small files, many at a time (batches of chunker/small.ts); without it, each goes by chunkFile. */
  chunkFiles?: ChunkFilesFn;
  /** Files chunked at once: enough to keep the chunker's workers busy while small files are read. */
  concurrency: number;
  signal?: AbortSignal;
}

/** What a walk of the seed folders found. */
export interface SeedWalk {
  /** Regular files with their sizes, each inode once. */
  files: SeedFile[];
  /** The lstat of every regular file seen, by path (a hard link under each of its names). */
  stats: Map<string, FileStat>;
  /** Leftovers of a crashed restore or apply (TEMP_PREFIX), by path: never walked; the restore makes those in its folders seeds, then removes them. */
  temps: string[];
  /** Entries that are neither a folder nor a regular file (links with their targets, FIFOs, sockets), by path: what a restore may replace while it is still what was seen. */
  others: Map<string, Exclude<Found, FileStat>>;
}

/**
 * Regular files under the roots, symlinks not followed, each folder and inode once. The restore
 * walks its target this way once, for three things: seeds, what is on disk at each planned path,
 * and temp leftovers. `listed`: folders whose entries the caller has just read (restore's `listed`);
 * `checked`: the lstat of folders the caller has just checked to be real ones (ensureDirs).
 */
export async function walkSeeds(roots: readonly string[], skip: ReadonlySet<string>, signal?: AbortSignal, listed?: ReadonlyMap<string, readonly Dirent[]>, checked?: ReadonlyMap<string, Stats>): Promise<SeedWalk> {
  const seen = new Inodes();
  const walk: SeedWalk = { files: [], stats: new Map(), temps: [], others: new Map() };
  const queue = roots.filter((r) => !skip.has(r));
  for (let i = 0; i < queue.length; i++) {
    await breathe(i);
    signal?.throwIfAborted();
    const path = queue[i] as string;
    // A seed that cannot be looked at is simply not a seed.
    let st;
    try {
      st = checked?.get(path) ?? lstatNow(path);
    } catch {
      continue;
    }
    if (!st || (!st.isDirectory() && !st.isFile())) continue;
    const file = st.isFile() ? fileStat(st) : undefined;
    if (file) walk.stats.set(path, file);
    if (!seen.add(st)) continue;
    if (file) {
      walk.files.push({ path, size: file.size, st: file });
      continue;
    }
    // A seed folder that cannot be read is simply not walked.
    for (const d of listed?.get(path) ?? listDirNow(path, ['EACCES', 'EPERM'])) {
      const child = join(path, d.name);
      if (d.name.startsWith(TEMP_PREFIX)) walk.temps.push(child);
      else if (!d.isDirectory() && !d.isFile()) walk.others.set(child, d.isSymbolicLink() ? linkSeen(child) : 'other');
      else if (!skip.has(child)) queue.push(child);
    }
  }
  return walk;
}

/** A link the walk found, with its target; 'other' when it is no link by the time that is read. */
function linkSeen(path: string): { link: string } | 'other' {
  const link = readlinkNow(path);
  return link === undefined ? 'other' : { link };
}

/** What `walk` saw at `path` that is no folder, if anything. */
export function foundIn(walk: SeedWalk, path: string): Found | undefined {
  return walk.stats.get(path) ?? walk.others.get(path);
}

/** Inodes by device: a walk's "each inode once" without a `dev:ino` string made and kept per entry. */
class Inodes {
  private readonly byDev = new Map<number, Set<number>>();

  /** Adds the entry's inode; false when it was there already. */
  add(st: { dev: number; ino: number }): boolean {
    let inos = this.byDev.get(st.dev);
    if (inos === undefined) {
      inos = new Set();
      this.byDev.set(st.dev, inos);
    }
    if (inos.has(st.ino)) return false;
    inos.add(st.ino);
    return true;
  }
}

/** A restore's walk (walkSeeds), and the paths that restore wrote since: files, links, files whose metadata it set. */
export interface EarlierWalk {
  walk: SeedWalk;
  wrote: ReadonlySet<string>;
}

/**
 * The walk `earlier` made, as it stands after its restore: the paths that restore wrote are looked
 * at again (a regular file there is listed anew, each inode still once); every other entry is kept
 * as it was listed. Nothing is read from the disk but those paths.
 */
export function walkAgain(earlier: EarlierWalk): SeedWalk {
  const { walk, wrote } = earlier;
  const files = walk.files.filter((f) => !wrote.has(f.path));
  const stats = new Map([...walk.stats].filter(([path]) => !wrote.has(path)));
  const seen = new Inodes();
  for (const f of files) seen.add(f.st);
  for (const path of wrote) {
    const found = lstatNow(path);
    if (!found?.isFile()) continue;
    const st = fileStat(found);
    stats.set(path, st);
    if (!seen.add(st)) continue;
    files.push({ path, size: st.size, st });
  }
  return { files, stats, temps: [...walk.temps], others: new Map([...walk.others].filter(([path]) => !wrote.has(path))) };
}

function mayHoldNeeded(size: number, input: ScanInput, lengths: Set<number>, minNeeded: number): boolean {
  if (size === 0 || size < minNeeded) return false;
  return size > input.params.minSize || lengths.has(size);
}

/** Chunks every useful seed file once and indexes the needed chunks found. */
export async function scanSeeds(input: ScanInput): Promise<SeedIndex> {
  const index: SeedIndex = { sources: new Map(), chunked: new Map() };
  const lengths = new Set(input.needed.values());
  let minNeeded = Infinity;
  for (const n of lengths) minNeeded = Math.min(minNeeded, n);
  const files = input.files.filter(
    (f) => input.candidates.get(f.path) === f.size || (lengths.size > 0 && mayHoldNeeded(f.size, input, lengths, minNeeded)),
  );
  const record = (f: SeedFile, result: ChunkedFile | undefined): void => {
    if (!result) return;
    if (input.candidates.has(f.path)) index.chunked.set(f.path, result.chunks.map((c) => c.id));
    for (const c of result.chunks) {
      if (input.needed.get(c.id) === c.length && !index.sources.has(c.id)) index.sources.set(c.id, { path: f.path, offset: c.offset, length: c.length });
    }
  };
  const chunkFiles = input.chunkFiles;
  const small = chunkFiles ? files.filter((f) => f.size < SMALL_FILE) : [];
  const large = chunkFiles ? files.filter((f) => f.size >= SMALL_FILE) : files;
  const jobs = [
    ...batchesOf(small, (f) => f.size).map((batch) => async () => {
      const results = await chunkFiles!(batch, input.params, input.hash);
      for (const [i, f] of batch.entries()) record(f, results[i] ?? (await chunkOne(input, f)));
    }),
    ...large.map((f) => async () => record(f, await chunkOne(input, f))),
  ];
  await forEachLimit(jobs, input.concurrency, async (job) => {
    input.signal?.throwIfAborted();
    await job();
  });
  return index;
}

/** One file's chunks by path, or undefined when it is no seed after all (vanished, unreadable). */
function chunkOne(input: ScanInput, f: SeedFile): Promise<ChunkedFile | undefined> {
  return input.chunkFile(f.path, input.params, input.hash).catch((err: unknown) => {
    // A seed that vanished or cannot be read is simply not a seed.
    if (isStrataError(err, 'E_FILE_READ') || isErrno(err, 'ENOENT', 'EACCES', 'EPERM', 'ELOOP', 'EISDIR', 'EIO')) return undefined;
    throw err;
  });
}
