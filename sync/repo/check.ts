/**
 * check: verifies a repository and reports every problem found, typed, instead of stopping at
 * the first. Structural checks (cheap, metadata only):
 * - every index object is valid and every pack it names exists with the size it records, and a
 *   consolidated index names every pack and blob entry of each listed index it supersedes (readers
 *   that load it skip those);
 * - every snapshot and head is valid, every head points at an existing snapshot, and every parent
 *   a snapshot names exists (nothing deletes snapshots);
 * - every tree reachable from a snapshot loads and validates, and every blob a tree references
 *   is in an index (file sizes agree with their chunks' lengths).
 * With `readData`, every pack is downloaded: its hash must match its id, every blob its id, and
 * its trailer must agree with the index.
 *
 * check holds every index of the bucket at once, so each is kept as a HeldIndex as it arrives and
 * the blobs' places in a BlobTable: about 105 bytes a blob entry (scripts/check-mem-bench.ts).
 */
import type { ErrorCode } from '../errors.js';
import { isObjectError } from '../store/index.js';
import { BlobTable } from './blobtable.js';
import { HeldIndex } from './heldindex.js';
import { coverMap, indexCovers } from './indexfile.js';
import { loadIndexes } from './indexload.js';
import { checkPackData, type NamedPack } from './check-data.js';
import { checkTrees } from './check-trees.js';
import * as layers from './layers.js';
import type { Repository } from './repository.js';
import { keys, type Snapshot } from './types.js';

export interface CheckOptions {
  readData: boolean;
  onProgress?: (p: CheckProgress) => void;
  /** Requests in flight (default 8; 4 for whole-pack downloads). */
  concurrency?: number;
}

export interface CheckProgress {
  phase: 'packs' | 'indexes' | 'snapshots' | 'trees' | 'data';
  done: number;
  total: number;
}

export interface CheckProblem {
  code: ErrorCode;
  /** The object the problem is in (a pack, index, snapshot or head key). */
  key: string;
  message: string;
}

export interface CheckReport {
  /** Damage: data that cannot be read back as written. */
  problems: CheckProblem[];
  /** Harmless leftovers (e.g. packs no index names, from an interrupted writer) and odd keys. */
  warnings: CheckProblem[];
  counts: { packs: number; indexes: number; snapshots: number; heads: number; trees: number };
}

/** Collects problems; a StrataError becomes one problem with its own code and key. */
export class Problems {
  readonly problems: CheckProblem[] = [];
  readonly warnings: CheckProblem[] = [];
  /** Blobs (`<pack key> <id>`) the tree phase found not matching their id: the data phase must not report them again. */
  readonly badBlobs = new Set<string>();

  add(code: ErrorCode, key: string, message: string): void {
    this.problems.push({ code, key, message });
  }

  warn(code: ErrorCode, key: string, message: string): void {
    this.warnings.push({ code, key, message });
  }

  addError(err: unknown, fallbackKey: string): void {
    if (!isObjectError(err)) throw err;
    this.add(err.code, err.key ?? fallbackKey, err.message);
  }
}

const PACK_KEY = /^data\/([0-9a-f]{2})\/([0-9a-f]{64})$/;
const LAYER_KEY = /^layers\/((?:user|org)\/[^/]+)\/(snapshots|heads)\/([^/]+)$/;

async function listPacks(repo: Repository, out: Problems): Promise<Map<string, number>> {
  const packs = new Map<string, number>();
  for await (const { key, size } of repo.store.list('data/')) {
    const m = PACK_KEY.exec(key);
    if (m && m[2]?.startsWith(m[1] ?? '')) packs.set(m[2], size);
    else out.warn('E_BAD_OBJECT', key, 'unexpected key under data/');
  }
  return packs;
}

async function checkIndexes(repo: Repository, packs: Map<string, number>, out: Problems, concurrency: number) {
  const indexes: HeldIndex[] = [];
  const { errors } = await loadIndexes(repo.store, repo.format.hash, concurrency, (idx) => indexes.push(new HeldIndex(idx)), { readSuperseded: true });
  for (const err of errors) out.addError(err, 'index/');
  checkSupersedes(indexes, out);
  const indexed = new Map<string, NamedPack[]>();
  /** Every pack an index names, whether it is stored as named or not. */
  const named = new Set<string>();
  /** Packs that do not exist → the indexes that name them: one problem each, however many name it. */
  const missing = new Map<string, string[]>();
  /** Blobs only in packs that are missing or of the wrong size → why they cannot be read. */
  const lost = new Map<string, string>();
  const blobs = new BlobTable();
  for (const idx of indexes) {
    for (let at = 0; at < idx.packs.length; at++) {
      const pack = idx.pack(at);
      named.add(pack.id);
      const size = packs.get(pack.id);
      if (size === undefined) {
        listAdd(missing, pack.id, idx.key);
        for (const b of pack.blobs) lost.set(b.id, `is in ${keys.pack(pack.id)}, which does not exist`);
        continue;
      }
      if (size !== pack.size) {
        out.add('E_PACK_SIZE_MISMATCH', keys.pack(pack.id), `pack is ${size} bytes but ${idx.key} says ${pack.size}`);
        for (const b of pack.blobs) lost.set(b.id, `is in ${keys.pack(pack.id)}, whose size disagrees with its index`);
        continue;
      }
      listAdd(indexed, pack.id, { index: idx, at });
      for (const b of pack.blobs) blobs.add(b.id, pack.id, b.type, b.offset, b.length);
    }
  }
  for (const id of lost.keys()) if (blobs.has(id)) lost.delete(id);
  for (const [id, by] of missing) {
    const more = by.length > 3 ? ` and ${by.length - 3} more indexes` : '';
    out.add('E_PACK_MISSING', keys.pack(id), `pack named by ${by.slice(0, 3).join(', ')}${more} does not exist`);
  }
  return { indexed, named, blobs, lost, count: indexes.length + errors.length, indexErrors: errors.length };
}

/** A consolidated index that lacks part of an index it supersedes hides that part from readers. */
function checkSupersedes(indexes: readonly HeldIndex[], out: Problems): void {
  const byKey = new Map(indexes.map((idx) => [idx.key, idx]));
  for (const s of indexes) {
    const short = s.supersedes.filter((k) => byKey.has(k));
    if (short.length === 0) continue;
    const map = coverMap(s.decoded());
    const lacking = short.filter((k) => !indexCovers(map, (byKey.get(k) as HeldIndex).decoded()));
    if (lacking.length === 0) continue;
    const more = lacking.length > 3 ? ` and ${lacking.length - 3} more` : '';
    out.add('E_BAD_OBJECT', s.key, `supersedes ${lacking.slice(0, 3).join(', ')}${more} but lacks some of its packs or blob entries: readers that load it skip those`);
  }
}

interface LayerObjects {
  snapshots: { layer: string; id: string; key: string; snapshot: Snapshot }[];
  heads: number;
}

async function checkLayers(repo: Repository, out: Problems): Promise<LayerObjects> {
  const layerIds = new Set<string>();
  const snapshotKeys: { layer: string; id: string; key: string }[] = [];
  for await (const { key } of repo.store.list('layers/')) {
    const m = LAYER_KEY.exec(key);
    if (!m) {
      out.warn('E_BAD_OBJECT', key, 'unexpected key under layers/');
      continue;
    }
    layerIds.add(m[1] as string);
    if (m[2] === 'snapshots') snapshotKeys.push({ layer: m[1] as string, id: m[3] as string, key });
  }
  const result: LayerObjects = { snapshots: [], heads: 0 };
  for (const s of snapshotKeys) {
    try {
      result.snapshots.push({ ...s, snapshot: await layers.loadSnapshot(repo.store, repo.format.hash, s.layer, s.id) });
    } catch (err) {
      out.addError(err, s.key);
    }
  }
  // A parent that is gone is no damage: admin forget deletes history, keeping what merges need
  // (forget-plan.ts); where the history ends, a merge's walk ends (agent/history.ts).
  const valid = new Set(result.snapshots.map((s) => s.key));
  for (const layer of layerIds) {
    try {
      const { heads, errors } = await layers.listHeads(repo.store, layer, 8);
      for (const err of errors) out.addError(err, keys.heads(layer));
      result.heads += heads.length;
      for (const h of heads) {
        if (!valid.has(keys.snapshot(layer, h.snapshot))) {
          out.add('E_SNAPSHOT_NOT_FOUND', keys.head(layer, h.device), `head points at snapshot ${h.snapshot}, which is missing or invalid`);
        }
      }
    } catch (err) {
      out.addError(err, keys.heads(layer));
    }
  }
  return result;
}

export async function check(repo: Repository, opts: CheckOptions): Promise<CheckReport> {
  const out = new Problems();
  const concurrency = opts.concurrency ?? 8;
  const progress = (phase: CheckProgress['phase'], done: number, total: number) => opts.onProgress?.({ phase, done, total });

  progress('packs', 0, 1);
  const packs = await listPacks(repo, out);
  progress('packs', 1, 1);
  progress('indexes', 0, 1);
  const { indexed, named, blobs, lost, count, indexErrors } = await checkIndexes(repo, packs, out, concurrency);
  progress('indexes', 1, 1);
  // Not damage: a writer stopped between its packs and their index, or one still uploading.
  const unindexed =
    indexErrors > 0
      ? 'pack is in no index that could be read (strata admin gc removes nothing while an index cannot be read)'
      : 'pack is in no index (left by an interrupted writer, or one still uploading): strata admin gc removes it once older than its grace period';
  for (const id of packs.keys()) if (!named.has(id)) out.warn('E_PACK_UNINDEXED', keys.pack(id), unindexed);

  progress('snapshots', 0, 1);
  const found = await checkLayers(repo, out);
  progress('snapshots', 1, 1);
  const trees = await checkTrees(repo.store, repo.format.hash, { blobs, lost }, found.snapshots, out, concurrency, (done, total) => progress('trees', done, total));

  if (opts.readData) {
    await checkPackData(repo.store, repo.format.hash, packs, indexed, out, Math.min(4, concurrency), (done, total) => progress('data', done, total));
  }
  return {
    problems: out.problems,
    warnings: out.warnings,
    counts: { packs: packs.size, indexes: count, snapshots: found.snapshots.length, heads: found.heads, trees },
  };
}

/** Adds `value` to `key`'s list in place: an index naming one pack a million times stays linear. */
function listAdd<T>(lists: Map<string, T[]>, key: string, value: T): void {
  const list = lists.get(key);
  if (list) list.push(value);
  else lists.set(key, [value]);
}
