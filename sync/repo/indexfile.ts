/**
 * Index objects (`index/<id>`): which blobs each pack holds and where. One index is written per
 * flush, after all of its packs are durable; readers merge every index into one map.
 *
 *   {"packs":[{"blobs":[{"id","length","offset","type"}…],"id":<pack id>,"size":<bytes>}…],"version":1}
 *
 * The id is the hash of the canonical bytes. Entries must lie inside their pack's data area, so a
 * hostile index cannot make a reader request bytes outside the pack it names.
 */
import { blobId, isBlobId, type HashAlgorithm } from '../chunker/hash.js';
import { StrataError } from '../errors.js';
import type { ObjectStore } from '../store/index.js';
import { Invalid, canonicalBytes, expectObject, expectSafeInt, parseJson, short } from './json.js';
import { FOOTER_BYTES, validateEntry, type PackEntry } from './pack.js';
import { mapLimit } from './pool.js';

export const MAX_INDEX_BYTES = 256 * 1024 * 1024;
const INDEX_KEY = /^index\/([0-9a-f]{64})$/;

export interface IndexedPack {
  id: string;
  size: number;
  blobs: PackEntry[];
}

export interface IndexFile {
  key: string;
  packs: IndexedPack[];
}

export function encodeIndex(packs: readonly IndexedPack[], hash: HashAlgorithm): { id: string; bytes: Uint8Array } {
  const bytes = canonicalBytes({ version: 1, packs });
  return { id: blobId(bytes, hash), bytes };
}

function validatePack(value: unknown, i: number, v: Invalid): IndexedPack {
  const p = expectObject(value, ['id', 'size', 'blobs'], v, `pack ${i}`);
  if (!isBlobId(p.id)) throw v.fail(`pack ${i} id is not a pack id`);
  const size = expectSafeInt(p.size, v, `pack ${i} size`, FOOTER_BYTES);
  if (!Array.isArray(p.blobs)) throw v.fail(`pack ${i} blobs is not an array`);
  const list = `pack ${short(p.id)} blob`;
  const blobs = p.blobs.map((b, j) => validateEntry(b, size - FOOTER_BYTES, v, list, j));
  return { id: p.id, size, blobs };
}

/** Validates an index object's bytes: hash against the id in its key, then the schema. */
export function decodeIndex(key: string, bytes: Uint8Array, hash: HashAlgorithm): IndexedPack[] {
  const m = INDEX_KEY.exec(key);
  if (!m) throw new StrataError('E_BAD_OBJECT', 'index key is not index/<id>', { key });
  if (blobId(bytes, hash) !== m[1]) throw new StrataError('E_OBJECT_HASH_MISMATCH', 'index bytes do not match the id in its key', { key });
  const v = new Invalid('E_BAD_OBJECT', key, 'index');
  const idx = expectObject(parseJson(bytes, v), ['version', 'packs'], v, 'index');
  if (idx.version !== 1) throw v.fail(`version ${JSON.stringify(idx.version)} is unknown`, 'E_UNSUPPORTED_FORMAT');
  if (!Array.isArray(idx.packs)) throw v.fail('packs is not an array');
  return idx.packs.map((p, i) => validatePack(p, i, v));
}

/**
 * Fetches and validates every index object (except those in `skip`, already loaded). A bad one is reported in `errors` and skipped: it
 * must not make the rest of the repository unreadable, and `check` reports it.
 */
export async function loadIndexes(
  store: ObjectStore,
  hash: HashAlgorithm,
  concurrency: number,
  skip: ReadonlySet<string> = new Set(),
): Promise<{ indexes: IndexFile[]; errors: StrataError[] }> {
  const listed: { key: string; size: number }[] = [];
  for await (const info of store.list('index/')) if (!skip.has(info.key)) listed.push(info);
  const errors: StrataError[] = [];
  const results = await mapLimit(listed, concurrency, async ({ key, size }) => {
    try {
      if (size > MAX_INDEX_BYTES) throw new StrataError('E_OBJECT_TOO_LARGE', `index is ${size} bytes, over the ${MAX_INDEX_BYTES}-byte limit`, { key });
      return { key, packs: decodeIndex(key, await store.get(key), hash) };
    } catch (err) {
      if (!(err instanceof StrataError) || ['E_TRANSIENT', 'E_AUTH', 'E_PERMANENT'].includes(err.code)) throw err;
      errors.push(err);
      return undefined;
    }
  });
  errors.sort((a, b) => ((a.key ?? '') < (b.key ?? '') ? -1 : 1));
  return { indexes: results.filter((r): r is IndexFile => r !== undefined), errors };
}
