/**
 * Filling temp files with chunks: first from local seeds (seedcopy.ts), then from the store.
 *
 * What must hold:
 * - Every place a chunk occupies (in one file or many) gets it, whether it came from a seed or a
 *   download, and a chunk is fetched at most once per restore.
 * - No byte of the store is fetched twice either: all missing chunks go into one coalesced read
 *   plan (Repository.readBlobs), so the gap between two wanted chunks is never fetched for one
 *   and thrown away while the chunks inside it wait for another batch; chunks the tree walk
 *   already brought (ranges.ts) are taken from there.
 * - Requests are issued in the order of the first file needing one of their chunks (files come
 *   sorted by priority), so high-priority files finish first; a file is finished as soon as its
 *   last chunk lands, and downloaded bytes are written as they arrive (memory is bounded by the
 *   reads in flight and the writes queued behind them).
 */
import type { Repository } from '../repo/repository.js';
import type { BlobId, BlobLocation } from '../repo/types.js';
import type { Assembly } from './assembly.js';
import type { RangeCache } from './ranges.js';
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

export interface Place {
  id: BlobId;
  work: Work;
  offset: number;
  length: number;
}

/**
 * Largest run of unneeded bytes a download request spans to join two needed chunks: fewer
 * requests against bytes fetched for nothing. A request costs the server a fixed time before its
 * first byte (tens of milliseconds on S3, ~10 ms of Swift's CPU here) in which it could have sent
 * about a megabyte, so spanning a gap up to that size is the faster trade; where egress is billed,
 * it costs a few bytes fetched twice over per sign-in. Measured with the sign-in bench's golden
 * image (62 MiB of chunks needed before ready, scattered between chunks the machine has), time from
 * the first download to ready: 256 KiB 1.76–1.84 s, 1 MiB 1.08–1.27 s, 2 MiB 1.04–1.08 s.
 * More GETs in flight did not help (8, 16 and 32 gave the same time): the server's cost per
 * request is what a wider gap saves.
 */
export const DOWNLOAD_MAX_GAP = 1024 * 1024;

export interface DownloadInput {
  repo: Repository;
  /** Chunk id → its places, in the order the chunks should come (first need first). */
  remaining: ReadonlyMap<BlobId, Place[]>;
  cache: RangeCache;
  assembly: Assembly;
  counters: Counters;
  /** Finishes a file whose last chunk landed. */
  onComplete: (work: Work) => Promise<void>;
  /** Counts a file writeWhole already put in place (it needs no finishing). */
  onPlaced: (work: Work) => void;
  /** Reports progress for other writes. */
  onWritten: () => void;
  concurrency: number;
  signal?: AbortSignal;
}

/** Fetches the remaining chunks and writes each into all its places. */
export async function download(input: DownloadInput): Promise<void> {
  const { repo, remaining, cache, assembly, counters, signal } = input;
  // Writes and finishes (fsync, rename) run beside the downloads, bounded, instead of one by one.
  const background = new Background(input.concurrency * 4);
  const place = async (p: Place, data: Uint8Array): Promise<void> => {
    await assembly.write(p.work.file, p.offset, data);
    counters.bytesDownloaded += p.length;
    if (--p.work.missing === 0) await input.onComplete(p.work);
    else input.onWritten();
  };
  const deliver = async (id: BlobId, data: Uint8Array): Promise<void> => {
    signal?.throwIfAborted();
    for (const p of remaining.get(id) as Place[]) {
      if (p.work.file.chunks.length > 1) {
        await background.add(() => place(p, data));
        continue;
      }
      // The whole file is in hand: created, written and renamed in one synchronous step, with no
      // promise on the way (20,000 small files make that a measurable share of a restore).
      const placed = assembly.writeWhole(p.work.file, data);
      counters.bytesDownloaded += p.length;
      p.work.missing = 0;
      if (placed) input.onPlaced(p.work);
      else await background.add(() => input.onComplete(p.work));
    }
  };
  try {
    const rank = new Map<BlobId, number>();
    for (const id of remaining.keys()) {
      const data = cache.take(id, repo.blobLocation(id) as BlobLocation);
      if (data) await deliver(id, data);
      else rank.set(id, rank.size);
    }
    cache.clear();
    await repo.readBlobs(rank.keys(), deliver, { concurrency: input.concurrency, rank: (id) => rank.get(id) as number, maxGap: DOWNLOAD_MAX_GAP });
  } finally {
    await background.settle();
  }
  background.rethrow();
}

/** Runs tasks in the background, at most `limit` at once; `add` waits for a free slot. */
export class Background {
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
