/**
 * Index objects (`index/<id>`): which blobs each pack holds and where. One index is written per
 * flush, after all of its packs are durable; readers merge every index into one map.
 *
 *   {"packs":[{"blobs":[{"id","length","offset","type"}…],"id":<pack id>,"size":<bytes>}…],"version":1}
 *   {"packs":[…],"supersedes":[<index id>…],"version":2}
 *
 * Version 2 is a consolidated index (compact.ts): it names every pack of each index it
 * supersedes, so a reader that loaded it need not fetch those (indexload.ts). `supersedes` must be
 * a non-empty, sorted list of distinct index ids, at most MAX_SUPERSEDES, without the index's own
 * id. What it claims is not trusted where it matters: gc deletes a superseded index only once it
 * has seen that the superseding one names all of its packs (indexCovers), and check reports one
 * that does not.
 *
 * The id is the hash of the canonical bytes. Entries must lie inside their pack's data area, so a
 * hostile index cannot make a reader request bytes outside the pack it names.
 */
import { blobId, isBlobId, type HashAlgorithm } from '../chunker/hash.js';
import { StrataError } from '../errors.js';
import { Invalid, canonicalBytes, expectObject, expectSafeInt, isPlainObject, parseJson, short } from './json.js';
import { FOOTER_BYTES, validateEntry, type PackEntry } from './pack.js';

export const MAX_INDEX_BYTES = 256 * 1024 * 1024;
/** Indexes one consolidated index may supersede (its list is then about 6.6 MB). */
export const MAX_SUPERSEDES = 100_000;
const INDEX_KEY = /^index\/([0-9a-f]{64})$/;
const INDEX_ID = /^[0-9a-f]{64}$/;

export interface IndexedPack {
  id: string;
  size: number;
  blobs: PackEntry[];
}

export interface DecodedIndex {
  packs: IndexedPack[];
  /** The keys (`index/<id>`) of the indexes this one supersedes; empty for version 1. */
  supersedes: string[];
}

export interface IndexFile extends DecodedIndex {
  key: string;
}

/** A version 1 index, or version 2 when it supersedes indexes (their ids, sorted and distinct). */
export function encodeIndex(packs: readonly IndexedPack[], hash: HashAlgorithm, supersedes: readonly string[] = []): { id: string; bytes: Uint8Array } {
  const bytes = canonicalBytes(supersedes.length === 0 ? { version: 1, packs } : { version: 2, packs, supersedes });
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

function validateSupersedes(value: unknown, self: string, v: Invalid): string[] {
  if (!Array.isArray(value) || value.length === 0) throw v.fail('supersedes is not a non-empty array');
  if (value.length > MAX_SUPERSEDES) throw v.fail(`supersedes names ${value.length} indexes, over the limit of ${MAX_SUPERSEDES}`);
  value.forEach((id: unknown, i) => {
    if (typeof id !== 'string' || !INDEX_ID.test(id)) throw v.fail(`supersedes ${i} is not an index id`);
    if (id === self) throw v.fail('supersedes itself');
    if (i > 0 && id <= (value[i - 1] as string)) throw v.fail(`supersedes ${i} is not after the one before it (the list must be sorted, each id once)`);
  });
  return (value as string[]).map((id) => `index/${id}`);
}

/** Validates an index object's bytes: hash against the id in its key, then the schema (version 1 or 2). */
export function decodeIndexFile(key: string, bytes: Uint8Array, hash: HashAlgorithm): DecodedIndex {
  const m = INDEX_KEY.exec(key);
  if (!m) throw new StrataError('E_BAD_OBJECT', 'index key is not index/<id>', { key });
  if (blobId(bytes, hash) !== m[1]) throw new StrataError('E_OBJECT_HASH_MISMATCH', 'index bytes do not match the id in its key', { key });
  const v = new Invalid('E_BAD_OBJECT', key, 'index');
  const json = parseJson(bytes, v);
  if (!isPlainObject(json)) throw v.fail('index is not an object');
  const version = json.version;
  if (version !== 1 && version !== 2) throw v.fail(`version ${JSON.stringify(version)} is unknown`, 'E_UNSUPPORTED_FORMAT');
  const idx = expectObject(json, version === 1 ? ['version', 'packs'] : ['version', 'packs', 'supersedes'], v, 'index');
  if (!Array.isArray(idx.packs)) throw v.fail('packs is not an array');
  const supersedes = version === 2 ? validateSupersedes(idx.supersedes, m[1] as string, v) : [];
  return { packs: idx.packs.map((p, i) => validatePack(p, i, v)), supersedes };
}

/** The packs of a validated index object of either version. */
export function decodeIndex(key: string, bytes: Uint8Array, hash: HashAlgorithm): IndexedPack[] {
  return decodeIndexFile(key, bytes, hash).packs;
}

/** The index entries of `by`, each pack's as one set of its blobs' entries: built once per index for indexCovers. */
export type CoverMap = Map<string, { size: number; blobs: Set<string> }>;

export function coverMap(idx: DecodedIndex): CoverMap {
  const map: CoverMap = new Map();
  for (const p of idx.packs) {
    if (map.has(p.id)) continue;
    map.set(p.id, { size: p.size, blobs: new Set(p.blobs.map(entryKey)) });
  }
  return map;
}

/** One blob entry as a string: two entries are the same when these are. */
export const entryKey = (b: PackEntry) => `${b.id} ${b.type} ${b.offset} ${b.length}`;

/** Whether the index `by` (its coverMap) names every pack `idx` names, each with the same size and every blob entry `idx` gives it. */
export function indexCovers(by: CoverMap, idx: DecodedIndex): boolean {
  return idx.packs.every((p) => {
    const has = by.get(p.id);
    return has !== undefined && has.size === p.size && p.blobs.every((b) => has.blobs.has(entryKey(b)));
  });
}

