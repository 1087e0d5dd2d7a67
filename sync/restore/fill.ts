/**
 * Filling temp files with chunks: first from local seeds, then from the store.
 *
 * What must hold:
 * - Every place a chunk occupies (in one file or many) gets it, whether it came from a seed or a
 *   download, and a chunk is fetched at most once per restore.
 * - Nothing is renamed during the seed phase: seed sources include the target's own old files,
 *   which a rename would replace.
 * - Downloads go in batches ordered by the priority of the first file needing each chunk, so
 *   high-priority files finish first; a file is finished as soon as its last chunk lands, and
 *   downloaded bytes are written as they arrive (memory is bounded by the reads in flight).
 */
import type { HashAlgorithm } from '../chunker/hash.js';
import { forEachLimit } from '../repo/pool.js';
import type { Repository } from '../repo/repository.js';
import type { BlobId } from '../repo/types.js';
import type { Assembly } from './assembly.js';
import { readSeedChunk, type SeedSource } from './seed.js';
import type { PlannedFile } from './types.js';

/** A file being assembled; `missing` counts its chunk places not yet written. */
export interface Work {
  file: PlannedFile;
  missing: number;
}

export interface Counters {
  bytesSeeded: number;
  bytesDownloaded: number;
}

interface Place {
  id: BlobId;
  work: Work;
  offset: number;
  length: number;
}

/** Bytes of unique chunks per readBlobs call: large enough to coalesce, small enough to keep order. */
export const DOWNLOAD_BATCH_BYTES = 64 * 1024 * 1024;

/** Copies every chunk a seed holds into the works' temp files; returns the places still empty, in work order. */
export async function copySeeded(
  works: readonly Work[],
  sources: ReadonlyMap<BlobId, SeedSource>,
  hash: HashAlgorithm,
  assembly: Assembly,
  counters: Counters,
  concurrency: number,
  signal?: AbortSignal,
): Promise<Map<BlobId, Place[]>> {
  const missingAt: Place[][] = works.map(() => []);
  await forEachLimit(works, concurrency, async (work, i) => {
    for (const c of work.file.chunks) {
      signal?.throwIfAborted();
      const src = sources.get(c.id);
      const data = src && (await readSeedChunk(src, c.id, hash));
      if (!data) {
        (missingAt[i] as Place[]).push({ id: c.id, work, offset: c.offset, length: c.length });
        continue;
      }
      await assembly.write(work.file, c.offset, data);
      counters.bytesSeeded += c.length;
      work.missing--;
    }
  });
  const remaining = new Map<BlobId, Place[]>();
  for (const p of missingAt.flat()) {
    const list = remaining.get(p.id) ?? [];
    list.push(p);
    remaining.set(p.id, list);
  }
  return remaining;
}

function batches(remaining: ReadonlyMap<BlobId, Place[]>): BlobId[][] {
  const out: BlobId[][] = [];
  let batch: BlobId[] = [];
  let bytes = 0;
  for (const [id, places] of remaining) {
    batch.push(id);
    bytes += (places[0] as Place).length;
    if (bytes >= DOWNLOAD_BATCH_BYTES) {
      out.push(batch);
      batch = [];
      bytes = 0;
    }
  }
  if (batch.length > 0) out.push(batch);
  return out;
}

/** Fetches the remaining chunks and writes each into all its places; `onComplete` finishes a file, `onWritten` reports other progress. */
export async function download(
  repo: Repository,
  remaining: ReadonlyMap<BlobId, Place[]>,
  assembly: Assembly,
  counters: Counters,
  onComplete: (work: Work) => Promise<void>,
  onWritten: () => void,
  concurrency: number,
  signal?: AbortSignal,
): Promise<void> {
  // Writes and finishes (fsync, rename) run beside the downloads, bounded, instead of one by one.
  const background = new Background(concurrency * 4);
  const place = async (p: Place, data: Uint8Array): Promise<void> => {
    await assembly.write(p.work.file, p.offset, data);
    counters.bytesDownloaded += p.length;
    if (--p.work.missing === 0) await onComplete(p.work);
    else onWritten();
  };
  try {
    for (const ids of batches(remaining)) {
      signal?.throwIfAborted();
      await repo.readBlobs(
        ids,
        async (id, data) => {
          signal?.throwIfAborted();
          for (const p of remaining.get(id) as Place[]) await background.add(() => place(p, data));
        },
        { concurrency },
      );
    }
  } finally {
    await background.settle();
  }
  background.rethrow();
}

/** Runs tasks in the background, at most `limit` at once; `add` waits for a free slot. */
class Background {
  private readonly running = new Set<Promise<void>>();
  private failure: { err: unknown } | undefined;

  constructor(private readonly limit: number) {}

  async add(fn: () => Promise<void>): Promise<void> {
    while (this.running.size >= this.limit) await Promise.race(this.running);
    this.rethrow();
    const p: Promise<void> = fn()
      .catch((err: unknown) => {
        this.failure ??= { err };
      })
      .finally(() => this.running.delete(p));
    this.running.add(p);
  }

  /** Waits for every task; failures are kept for rethrow. */
  async settle(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
  }

  rethrow(): void {
    if (this.failure) throw this.failure.err;
  }
}
