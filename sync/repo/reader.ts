/**
 * Reading blobs out of packs with as few requests as possible: the blobs wanted from one pack
 * are sorted by offset and neighbours are merged into one ranged GET when the gap between them
 * is small and the merged request stays bounded. Every blob is verified against its id before a
 * caller sees it. Each wanted blob is in exactly one request, so one call never fetches a byte
 * twice; callers that will need more blobs later should ask for them in the same call (and order
 * the requests with `rank`) rather than in several calls whose gaps overlap.
 */
import { blobId, type HashAlgorithm } from '../chunker/hash.js';
import { StrataError, isStrataError } from '../errors.js';
import type { ObjectStore } from '../store/index.js';
import { short } from './json.js';
import { forEachLimit } from './pool.js';
import { keys, type BlobId, type BlobLocation } from './types.js';

export const DEFAULT_MAX_GAP = 256 * 1024;
export const DEFAULT_MAX_REQUEST = 16 * 1024 * 1024;

export interface WantedBlob {
  id: BlobId;
  loc: BlobLocation;
}

export interface RangeRequest {
  pack: string;
  offset: number;
  length: number;
  blobs: WantedBlob[];
}

/**
 * Groups blobs into ranged requests; deterministic for a given input. With `rank`, requests come
 * lowest first, a request ranking as its lowest blob (ties: pack, then offset); without it, by
 * pack and offset.
 */
export function planReads(wanted: readonly WantedBlob[], maxGap: number, maxRequest: number, rank?: (id: BlobId) => number): RangeRequest[] {
  const byPack = new Map<string, WantedBlob[]>();
  for (const w of wanted) {
    const list = byPack.get(w.loc.pack) ?? [];
    list.push(w);
    byPack.set(w.loc.pack, list);
  }
  const requests: RangeRequest[] = [];
  for (const [pack, blobs] of [...byPack].sort(([a], [b]) => (a < b ? -1 : 1))) {
    blobs.sort((a, b) => a.loc.offset - b.loc.offset || a.loc.length - b.loc.length);
    let req: RangeRequest | undefined;
    for (const w of blobs) {
      const end = w.loc.offset + w.loc.length;
      const reqEnd = req ? req.offset + req.length : 0;
      if (req && w.loc.offset - reqEnd <= maxGap && Math.max(end, reqEnd) - req.offset <= maxRequest) {
        req.length = Math.max(end, reqEnd) - req.offset;
        req.blobs.push(w);
      } else {
        req = { pack, offset: w.loc.offset, length: w.loc.length, blobs: [w] };
        requests.push(req);
      }
    }
  }
  return rank ? byRank(requests, rank) : requests;
}

function byRank(requests: RangeRequest[], rank: (id: BlobId) => number): RangeRequest[] {
  const ranked = requests.map((req, i) => ({ req, i, r: req.blobs.reduce((min, b) => Math.min(min, rank(b.id)), Infinity) }));
  // Requests were built in pack and offset order, so the index breaks ties deterministically.
  ranked.sort((a, b) => a.r - b.r || a.i - b.i);
  return ranked.map((x) => x.req);
}

/** Throws E_CHUNK_HASH_MISMATCH naming the pack key and the blob id. */
export function verifyBlob(data: Uint8Array, id: BlobId, packKey: string, hash: HashAlgorithm): void {
  if (blobId(data, hash) !== id) {
    throw new StrataError('E_CHUNK_HASH_MISMATCH', `blob ${id} does not match its id (corrupt pack or index)`, { key: packKey });
  }
}

/** Runs a ranged request; a range past the pack's end (E_BAD_RANGE) is E_BAD_PACK, not a crash. */
async function inRange<T>(key: string, offset: number, length: number, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (err) {
    if (isStrataError(err, 'E_BAD_RANGE')) throw new StrataError('E_BAD_PACK', `pack is shorter than its index says (${offset}+${length})`, { key }, { cause: err });
    throw err;
  }
}

/** One ranged GET; a pack shorter than its index says is E_BAD_PACK, not a crash. */
export async function fetchRange(store: ObjectStore, pack: string, offset: number, length: number): Promise<Uint8Array> {
  const key = keys.pack(pack);
  if (length === 0) return new Uint8Array(0);
  const bytes = await inRange(key, offset, length, () => store.get(key, { offset, length }));
  if (bytes.byteLength !== length) {
    throw new StrataError('E_BAD_PACK', `pack is shorter than its index says (wanted ${offset}+${length}, got ${bytes.byteLength} bytes)`, { key });
  }
  return bytes;
}

/** Times one request's body may break off half-way (a transient error) and be resumed. */
export const MAX_RESUMES = 5;

/** Bytes [start, end) of consecutive buffers: a view when one buffer holds them, else a copy. */
function cut(parts: readonly Uint8Array[], start: number, end: number): Uint8Array {
  let at = 0;
  for (const [i, p] of parts.entries()) {
    if (start < at + p.byteLength) {
      if (end <= at + p.byteLength) return new Uint8Array(p.buffer, p.byteOffset + start - at, end - start);
      const out = new Uint8Array(end - start);
      let filled = 0;
      for (const q of parts.slice(i)) {
        const piece = q.subarray(Math.max(0, start - at), Math.min(q.byteLength, end - at));
        out.set(piece, filled);
        filled += piece.byteLength;
        at += q.byteLength;
        if (filled === out.byteLength) break;
      }
      return out;
    }
    at += p.byteLength;
  }
  return new Uint8Array(0);
}

class ConsumerError {
  constructor(readonly err: unknown) {}
}

/**
 * Delivers one request's blobs as its body streams in, instead of joining the whole range first:
 * a blob inside one chunk of the body is a view of it, one spanning chunks is copied, and the
 * first blobs are written while the rest are still on the wire. A body that breaks off with a
 * transient error is asked for again from the first blob not yet delivered.
 */
async function streamRequest(store: ObjectStore, hash: HashAlgorithm, req: RangeRequest, onBlob: (id: BlobId, data: Uint8Array) => Promise<void> | void): Promise<void> {
  const key = keys.pack(req.pack);
  const end = req.offset + req.length;
  if (req.length === 0) {
    for (const w of req.blobs) {
      verifyBlob(new Uint8Array(0), w.id, key, hash);
      await onBlob(w.id, new Uint8Array(0));
    }
    return;
  }
  let next = 0;
  for (let resumes = 0; next < req.blobs.length; resumes++) {
    const from = (req.blobs[next] as WantedBlob).loc.offset;
    // Opening is retried by the store (RetryingStore); only a body that breaks off is resumed here.
    const body = await inRange(key, from, end - from, () => store.getStream(key, { offset: from, length: end - from }));
    try {
      const parts: Uint8Array[] = [];
      let partsStart = from;
      let partsEnd = from;
      for await (const chunk of body as AsyncIterable<Uint8Array>) {
        parts.push(chunk);
        partsEnd += chunk.byteLength;
        while (next < req.blobs.length) {
          const w = req.blobs[next] as WantedBlob;
          if (w.loc.offset + w.loc.length > partsEnd) break;
          const data = cut(parts, w.loc.offset - partsStart, w.loc.offset - partsStart + w.loc.length);
          verifyBlob(data, w.id, key, hash);
          next++;
          try {
            await onBlob(w.id, data);
          } catch (err) {
            throw new ConsumerError(err);
          }
        }
        // Drop what lies wholly before the next blob (blobs come in offset order).
        const keepFrom = next < req.blobs.length ? (req.blobs[next] as WantedBlob).loc.offset : partsEnd;
        while (parts.length > 0 && partsStart + (parts[0] as Uint8Array).byteLength <= keepFrom) {
          partsStart += (parts.shift() as Uint8Array).byteLength;
        }
      }
      if (next < req.blobs.length) throw new StrataError('E_BAD_PACK', `pack is shorter than its index says (wanted ${from}+${end - from}, got ${partsEnd - from} bytes)`, { key });
    } catch (err) {
      if (err instanceof ConsumerError) throw err.err;
      if (!isStrataError(err, 'E_TRANSIENT') || resumes >= MAX_RESUMES) throw err;
    }
  }
}

export async function readPlanned(
  store: ObjectStore,
  hash: HashAlgorithm,
  requests: readonly RangeRequest[],
  concurrency: number,
  onBlob: (id: BlobId, data: Uint8Array) => Promise<void> | void,
  onRange?: (pack: string, offset: number, bytes: Uint8Array) => void,
): Promise<void> {
  await forEachLimit(requests, concurrency, async (req) => {
    // Without a range hook nobody needs the range as a whole: its blobs are taken as it streams.
    if (!onRange) return streamRequest(store, hash, req, onBlob);
    const bytes = await fetchRange(store, req.pack, req.offset, req.length);
    onRange(req.pack, req.offset, bytes);
    for (const w of req.blobs) {
      const start = w.loc.offset - req.offset;
      // A view, not a copy: the range is fetched for these blobs and freed with the last of them.
      const data = bytes.subarray(start, start + w.loc.length);
      verifyBlob(data, w.id, keys.pack(req.pack), hash);
      await onBlob(w.id, data);
    }
  });
}

export function blobNotFound(id: BlobId): StrataError {
  return new StrataError('E_BLOB_NOT_FOUND', `blob ${short(id)} is in no index of this repository (${id})`);
}
