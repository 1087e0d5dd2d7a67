/**
 * check, tree phase: walks every snapshot's trees level by level (each tree once), verifying
 * each against its id, validating it, and checking that every blob it references is indexed
 * with the right type and that file sizes equal the sum of their chunks.
 */
import type { HashAlgorithm } from '../chunker/hash.js';
import type { BlobTable } from './blobtable.js';
import { isStrataError } from '../errors.js';
import type { ObjectStore } from '../store/index.js';
import type { Problems } from './check.js';
import { short } from './json.js';
import { forEachLimit } from './pool.js';
import { fetchRange, verifyBlob } from './reader.js';
import { MAX_TREE_BYTES, decodeTree } from './tree.js';
import { keys, type BlobLocation, type FileEntry, type Snapshot } from './types.js';

export interface BlobMap {
  /** Where each indexed blob is: the first place an index gives it, in a pack that exists with its indexed size. */
  blobs: BlobTable;
  /** Blobs that only a missing or damaged pack holds → why (`is in data/…, which does not exist`). */
  lost: ReadonlyMap<string, string>;
}

const NO_INDEX = 'is in no index';

interface Pending {
  id: string;
  /** The object that references this tree, for messages. */
  from: string;
  what: string;
}

export async function checkTrees(
  store: ObjectStore,
  hash: HashAlgorithm,
  known: BlobMap,
  snapshots: readonly { key: string; snapshot: Snapshot }[],
  out: Problems,
  concurrency: number,
  progress: (done: number, total: number) => void,
): Promise<number> {
  const visited = new Set<string>();
  const reportedChunks = new Set<string>();
  let level: Pending[] = [];
  for (const s of snapshots) {
    if (visited.has(s.snapshot.root)) continue;
    visited.add(s.snapshot.root);
    level.push({ id: s.snapshot.root, from: s.key, what: 'root tree' });
  }
  let done = 0;
  while (level.length > 0) {
    const next: Pending[] = [];
    await forEachLimit(level, concurrency, async (p) => {
      const tree = await loadChecked(store, hash, known, p, out);
      done++;
      progress(done, visited.size);
      if (!tree) return;
      const key = keys.pack((known.blobs.get(p.id) as BlobLocation).pack);
      for (const e of tree.entries) {
        if (e.type === 'dir' && !visited.has(e.subtree)) {
          visited.add(e.subtree);
          next.push({ id: e.subtree, from: key, what: `subtree of ${JSON.stringify(e.name)} in tree ${short(p.id)}` });
        } else if (e.type === 'file') {
          checkFile(e, p.id, key, known, reportedChunks, out);
        }
      }
    });
    level = next;
  }
  return visited.size;
}

async function loadChecked(store: ObjectStore, hash: HashAlgorithm, known: BlobMap, p: Pending, out: Problems) {
  const loc = known.blobs.get(p.id);
  if (!loc) {
    out.add('E_BLOB_MISSING', p.from, `${p.what} ${p.id} ${known.lost.get(p.id) ?? NO_INDEX}`);
    return undefined;
  }
  const key = keys.pack(loc.pack);
  if (loc.type !== 'tree') {
    out.add('E_BAD_TREE', key, `${p.what} ${p.id} is indexed as ${loc.type}, not a tree`);
    return undefined;
  }
  if (loc.length > MAX_TREE_BYTES) {
    out.add('E_BAD_TREE', key, `${p.what} ${p.id} is over the tree size limit`);
    return undefined;
  }
  try {
    const data = await fetchRange(store, loc.pack, loc.offset, loc.length);
    verifyBlob(data, p.id, key, hash);
    return decodeTree(data, key, p.id);
  } catch (err) {
    if (isStrataError(err, 'E_CHUNK_HASH_MISMATCH')) out.badBlobs.add(`${key} ${p.id}`);
    out.addError(err, key);
    return undefined;
  }
}

function checkFile(e: FileEntry, treeId: string, key: string, known: BlobMap, reported: Set<string>, out: Problems): void {
  let total = 0;
  let complete = true;
  for (const c of e.chunks) {
    const loc = known.blobs.get(c);
    if (!loc || loc.type !== 'data') {
      complete = false;
      if (reported.has(c)) continue;
      reported.add(c);
      const why = loc ? `is indexed as ${loc.type}` : (known.lost.get(c) ?? NO_INDEX);
      out.add('E_BLOB_MISSING', key, `chunk ${c} of ${JSON.stringify(e.name)} in tree ${short(treeId)} ${why}`);
      continue;
    }
    total += loc.length;
  }
  if (complete && total !== e.size) {
    out.add('E_BAD_TREE', key, `tree ${short(treeId)}: ${JSON.stringify(e.name)} has size ${e.size} but its chunks hold ${total} bytes`);
  }
}
