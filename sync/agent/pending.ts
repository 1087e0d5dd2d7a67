/**
 * A merge being applied. Between "the merged tree is decided" and "this device's head names it",
 * the disk holds a mix: ops applied so far carry the other devices' versions, the rest still the
 * old ones, and the user may have changed either since. If the pass stops there (the disk changed
 * under the executor, a store fault, a crash, a kill), the next pass must not take the applied
 * versions for local edits — against the old merge base they would look like this device's own
 * changes and come back as conflicts with the next version — and must not lose a user's edit made
 * in between either.
 *
 * So before the executor starts, the merge is recorded (pending.json, written atomically in the
 * folder's state dir): the heads it merged, its tree, and the tree the disk held when it started
 * (`base`), both durable in the bucket. Until the head is written, passes take the local side of
 * the merge to be merge3(base, disk now, merged tree): a path the executor wrote and nobody touched
 * since is the merged version; one it had not reached yet is too (the executor will write it); one
 * the user changed is the user's edit, and where the merge had changed it as well, both versions
 * stay (a conflict copy). No scan result has to be remembered across passes or crashes: the three
 * trees say it all. The cost is an extra conflict copy in one race — the executor wrote a path and
 * the user edited it before the pass ended — which loses nothing.
 *
 * The same record, with no parents, stands for a disk that lags its head after a synced pass: the
 * merged tree took another device's version of a path the scan could not read, and the disk there
 * still holds the old bytes (`base` is the disk as that pass left it). Read as they are once
 * readable, those bytes would be taken for this device's edit and undo the other device's.
 */
import { readFile, rm } from 'node:fs/promises';
import { isBlobId } from '../chunker/hash.js';
import { StrataError } from '../errors.js';
import { merge3, type FlatTree, type MergeResult } from '../plan/index.js';
import { short } from '../repo/json.js';
import type { BlobId, SnapshotId } from '../repo/types.js';
import { writeFileAtomic } from '../state/fsutil.js';

export interface PendingMerge {
  /** Snapshots the merge took in (they become parents of the next snapshot). */
  parents: SnapshotId[];
  /** The merged tree. */
  root: BlobId;
  /** The disk's tree (as the scan saw it) when the executor started. */
  base: BlobId;
  /**
   * The merge put back deletes of the heads it took in (a held mass delete restored, put-back.ts):
   * its snapshot must name them even where its root is this device's head's (commit.ts). Kept
   * here, a pass after a crash still writes that snapshot, or the other devices keep their deletes.
   */
  overruled?: true;
}

export async function loadPending(file: string): Promise<PendingMerge | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    v = undefined;
  }
  const p = v as Partial<PendingMerge> | undefined;
  if (typeof p !== 'object' || p === null || !isBlobId(p.root) || !isBlobId(p.base) || !Array.isArray(p.parents) || !p.parents.every(isBlobId) || (p.overruled !== undefined && p.overruled !== true)) {
    throw new StrataError('E_BAD_STATE', 'the record of a merge in progress is damaged; move it aside to continue (the next pass may then make extra conflict copies)', { path: file });
  }
  return { parents: [...p.parents], root: p.root, base: p.base, ...(p.overruled === true ? { overruled: true as const } : {}) };
}

/**
 * E_BLOB_NOT_FOUND unless the index holds (`indexed`) both trees the record at `file` names, for
 * folder `folder`. Its trees are in the bucket before it is written, so one missing means an index
 * deleted or refused since, and the pass cannot go on from it; the one line must name the record,
 * which only its folder's user can move aside.
 */
export function checkPendingTrees(p: PendingMerge, file: string, folder: string, indexed: (id: BlobId) => boolean): void {
  for (const [which, id] of [['merged tree', p.root], ['tree of the disk it began on', p.base]] as const) {
    if (indexed(id)) continue;
    throw new StrataError('E_BLOB_NOT_FOUND', `the record of a merge in progress in ${folder} names its ${which} ${short(id)}, which is in no index of this repository (${id}); move the record aside to continue (the next pass may then make extra conflict copies)`, { path: file });
  }
}

export function savePending(file: string, p: PendingMerge): Promise<void> {
  return writeFileAtomic(file, `${JSON.stringify(p)}\n`);
}

export async function clearPending(file: string): Promise<void> {
  await rm(file, { force: true });
}

/**
 * The local side of a merge while one is pending: the three-way merge of the disk's tree when the
 * executor started (`base`), the disk's tree now, and the pending merged tree, all in the disk's
 * terms (lower layers overlaid, no whiteouts).
 */
export function resolvePending(base: FlatTree, disk: FlatTree, merged: FlatTree, device: string, caseInsensitive?: boolean): MergeResult {
  return merge3(base, disk, merged, { mine: device, theirs: device, caseInsensitive });
}
