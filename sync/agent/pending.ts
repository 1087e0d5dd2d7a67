/**
 * A merge being applied. Between "the merged tree is decided" and "this device's head names it",
 * the disk holds a mix: ops applied so far carry the other devices' versions, the rest still the
 * old ones. If the pass stops there (the disk changed under the executor, a crash, a kill), the
 * next pass must not take the applied versions for local edits — against the old merge base they
 * would look like this device's own changes and come back as conflicts with the next version.
 *
 * So before the executor starts, the merge is recorded (pending.json, written atomically in the
 * folder's state dir): the heads it merged and its tree, already durable in the bucket. Until the
 * head is written, passes treat those heads as merged, and take the recorded tree for every path
 * the scans since then did not find changed — the paths where the disk still holds either what
 * the executor left or what it was about to replace. Paths that did change are the user's edits
 * and count as such.
 */
import { readFile, rm } from 'node:fs/promises';
import { isBlobId } from '../chunker/hash.js';
import { StrataError } from '../errors.js';
import type { Node } from '../plan/index.js';
import type { BlobId, SnapshotId } from '../repo/types.js';
import { writeFileAtomic } from '../state/fsutil.js';

export interface PendingMerge {
  /** Snapshots the merge took in (they become parents of the next snapshot). */
  parents: SnapshotId[];
  /** The merged tree. */
  root: BlobId;
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
  if (typeof p !== 'object' || p === null || !isBlobId(p.root) || !Array.isArray(p.parents) || !p.parents.every(isBlobId)) {
    throw new StrataError('E_BAD_STATE', 'the record of a merge in progress is damaged; move it aside to continue (the next pass may then make extra conflict copies)', { path: file });
  }
  return { parents: [...p.parents], root: p.root };
}

export function savePending(file: string, p: PendingMerge): Promise<void> {
  return writeFileAtomic(file, `${JSON.stringify(p)}\n`);
}

export async function clearPending(file: string): Promise<void> {
  await rm(file, { force: true });
}

/** True when `path` or one of its ancestors is in `set`. */
function under(set: ReadonlySet<string>, path: string): boolean {
  for (let p = path; ; ) {
    if (set.has(p)) return true;
    const i = p.lastIndexOf('/');
    if (i < 0) return false;
    p = p.slice(0, i);
  }
}

/**
 * The local side of a merge while `merged` is pending: the disk's version (`disk`) at every path
 * the scans found changed since, the merged tree's elsewhere. A changed path the disk no longer
 * has takes its whole subtree with it (a deleted dir); one the disk has says nothing about its
 * children (a dir the executor created is "changed" to the scan, its unwritten files are not).
 * An ancestor the merged tree does not have as a dir follows the disk too, so the result stays
 * well-formed.
 */
export function overlayPending(disk: ReadonlyMap<string, Node>, merged: ReadonlyMap<string, Node>, changedSince: ReadonlySet<string>): Map<string, Node> {
  const exact = new Set<string>();
  const gone = new Set<string>();
  for (const p of changedSince) {
    (disk.has(p) ? exact : gone).add(p);
    for (let i = p.lastIndexOf('/'); i > 0; i = p.lastIndexOf('/', i - 1)) {
      const a = p.slice(0, i);
      if (merged.get(a)?.type !== 'dir') exact.add(a);
    }
  }
  const fromDisk = (p: string) => exact.has(p) || under(gone, p);
  const out = new Map<string, Node>();
  for (const [p, n] of merged) if (!fromDisk(p)) out.set(p, n);
  for (const [p, n] of disk) if (fromDisk(p)) out.set(p, n);
  return out;
}
