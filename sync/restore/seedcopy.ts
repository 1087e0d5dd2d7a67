/**
 * Copying seeded chunks into the temp files: one pass per seed file, not one open per chunk.
 *
 * What must hold (see seed.ts): every chunk is re-read and verified against its id at copy time;
 * bytes that no longer match, a short read or a seed that vanished mean "download it". Every
 * place of a copied chunk gets it. Nothing is renamed here (seeds include the target's old files).
 *
 * A seed file's needed chunks are read in offset order, neighbours in one read of up to
 * READ_RUN_BYTES, so a large seed costs a few large reads and its page cache stays warm; seed
 * files are copied `concurrency` at a time.
 */
import type { FileHandle } from 'node:fs/promises';
import { blobId, type HashAlgorithm } from '../chunker/hash.js';
import { forEachLimit } from '../repo/pool.js';
import type { BlobId } from '../repo/types.js';
import type { Assembly } from './assembly.js';
import type { Counters, Place, Work } from './fill.js';
import { openRegular } from '../fsutil.js';
import type { SeedSource } from './seed.js';

export const READ_RUN_BYTES = 8 * 1024 * 1024;

interface Wanted {
  id: BlobId;
  src: SeedSource;
}

/** Every chunk place of the works, grouped by chunk id, in work (priority) order. */
export function placesOf(works: readonly Work[]): Map<BlobId, Place[]> {
  const places = new Map<BlobId, Place[]>();
  for (const work of works) {
    for (const c of work.file.chunks) {
      const list = places.get(c.id) ?? [];
      list.push({ id: c.id, work, offset: c.offset, length: c.length });
      places.set(c.id, list);
    }
  }
  return places;
}

/** Neighbouring chunks of one seed file (sorted by offset) cut into runs read at once. */
function runs(chunks: Wanted[]): Wanted[][] {
  const out: Wanted[][] = [];
  let run: Wanted[] = [];
  for (const w of chunks) {
    const first = run[0];
    const last = run.at(-1);
    const contiguous = last !== undefined && w.src.offset === last.src.offset + last.src.length;
    if (first && (!contiguous || w.src.offset + w.src.length - first.src.offset > READ_RUN_BYTES)) {
      out.push(run);
      run = [];
    }
    run.push(w);
  }
  if (run.length > 0) out.push(run);
  return out;
}

async function readRun(fh: FileHandle, run: Wanted[]): Promise<Buffer> {
  const start = (run[0] as Wanted).src.offset;
  const last = run.at(-1) as Wanted;
  const buf = Buffer.allocUnsafe(last.src.offset + last.src.length - start);
  let done = 0;
  while (done < buf.byteLength) {
    const { bytesRead } = await fh.read(buf, done, buf.byteLength - done, start + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === buf.byteLength ? buf : buf.subarray(0, done);
}

export interface SeedCopyInput {
  works: readonly Work[];
  sources: ReadonlyMap<BlobId, SeedSource>;
  hash: HashAlgorithm;
  assembly: Assembly;
  counters: Counters;
  concurrency: number;
  /** Called once a work's last place is written (must not rename: seeds include the target's files). */
  onComplete: (work: Work) => Promise<void>;
  signal?: AbortSignal;
}

/** Copies every chunk a seed holds into the works' temp files; returns the places still empty (first need first). */
export async function copySeeded(input: SeedCopyInput): Promise<Map<BlobId, Place[]>> {
  const places = placesOf(input.works);
  const bySeed = new Map<string, Wanted[]>();
  for (const id of places.keys()) {
    const src = input.sources.get(id);
    if (!src) continue;
    const list = bySeed.get(src.path) ?? [];
    list.push({ id, src });
    bySeed.set(src.path, list);
  }
  const copyChunk = async (w: Wanted, data: Uint8Array): Promise<void> => {
    const list = places.get(w.id) as Place[];
    await Promise.all(list.map((p) => input.assembly.write(p.work.file, p.offset, data)));
    places.delete(w.id);
    for (const p of list) {
      input.counters.bytesSeeded += p.length;
      if (--p.work.missing === 0) await input.onComplete(p.work);
    }
  };
  await forEachLimit([...bySeed.entries()], input.concurrency, async ([path, wanted]) => {
    input.signal?.throwIfAborted();
    // A seed that vanished, cannot be opened or is no longer a file is simply not a seed: its chunks are downloaded.
    const fh = await openRegular(path).catch(() => undefined);
    if (!fh) return;
    try {
      for (const run of runs(wanted.sort((a, b) => a.src.offset - b.src.offset))) {
        input.signal?.throwIfAborted();
        const buf = await readRun(fh, run).catch(() => undefined);
        if (!buf) continue;
        const base = (run[0] as Wanted).src.offset;
        const good = run
          .map((w) => ({ w, data: buf.subarray(w.src.offset - base, w.src.offset - base + w.src.length) }))
          .filter(({ w, data }) => data.byteLength === w.src.length && blobId(data, input.hash) === w.id);
        await Promise.all(good.map(({ w, data }) => copyChunk(w, data)));
      }
    } finally {
      await fh.close().catch(() => undefined);
    }
  });
  return places;
}
