/**
 * check, data phase (`readData`): downloads every pack and verifies that its bytes hash to its
 * id, that its trailer parses, that every blob in it matches its id, and that the trailer and
 * the index list the same blobs at the same places.
 */
import { blobId, type HashAlgorithm } from '../chunker/hash.js';
import type { ObjectStore } from '../store/index.js';
import type { Problems } from './check.js';
import type { HeldIndex } from './heldindex.js';
import { canonicalJson } from './json.js';
import { parsePack, type PackEntry } from './pack.js';
import { forEachLimit } from './pool.js';
import { keys } from './types.js';

/** A pack larger than this is reported rather than downloaded into memory. */
export const MAX_CHECK_PACK_BYTES = 1024 * 1024 * 1024;

function entrySet(entries: readonly PackEntry[]): Set<string> {
  return new Set(entries.map((e) => canonicalJson({ id: e.id, type: e.type, offset: e.offset, length: e.length })));
}

/** A pack as one index object lists it: `index.pack(at)`. */
export interface NamedPack {
  index: HeldIndex;
  at: number;
}

function compareWithIndexes(key: string, trailer: readonly PackEntry[], indexes: readonly NamedPack[], out: Problems): void {
  const a = entrySet(trailer);
  for (const { index, at } of indexes) {
    const b = entrySet(index.pack(at).blobs);
    const onlyIndex = [...b].filter((e) => !a.has(e)).length;
    const onlyTrailer = [...a].filter((e) => !b.has(e)).length;
    if (onlyIndex > 0 || onlyTrailer > 0) {
      out.add('E_INDEX_MISMATCH', key, `${index.key} and the pack trailer disagree: ${onlyIndex} entries only in the index, ${onlyTrailer} only in the trailer`);
    }
  }
}

async function checkOnePack(store: ObjectStore, hash: HashAlgorithm, id: string, size: number, indexes: readonly NamedPack[], out: Problems): Promise<void> {
  const key = keys.pack(id);
  if (size > MAX_CHECK_PACK_BYTES) {
    out.add('E_OBJECT_TOO_LARGE', key, `pack is ${size} bytes, over the ${MAX_CHECK_PACK_BYTES}-byte limit`);
    return;
  }
  let bytes: Uint8Array;
  try {
    bytes = await store.get(key);
  } catch (err) {
    out.addError(err, key);
    return;
  }
  if (blobId(bytes, hash) !== id) out.add('E_PACK_HASH_MISMATCH', key, 'pack bytes do not match the id in its key');
  let trailer: PackEntry[];
  try {
    trailer = parsePack(bytes, key);
  } catch (err) {
    out.addError(err, key);
    return;
  }
  for (const e of trailer) {
    if (out.badBlobs.has(`${key} ${e.id}`)) continue;
    if (blobId(bytes.subarray(e.offset, e.offset + e.length), hash) !== e.id) {
      out.add('E_CHUNK_HASH_MISMATCH', key, `blob ${e.id} does not match its id`);
    }
  }
  compareWithIndexes(key, trailer, indexes, out);
}

export async function checkPackData(
  store: ObjectStore,
  hash: HashAlgorithm,
  packs: ReadonlyMap<string, number>,
  indexed: ReadonlyMap<string, readonly NamedPack[]>,
  out: Problems,
  concurrency: number,
  progress: (done: number, total: number) => void,
): Promise<void> {
  const list = [...packs];
  let done = 0;
  await forEachLimit(list, concurrency, async ([id, size]) => {
    await checkOnePack(store, hash, id, size, indexed.get(id) ?? [], out);
    progress(++done, list.length);
  });
}
