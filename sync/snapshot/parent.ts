/**
 * The parent snapshot: which one a new snapshot builds on, and its trees as a stat cache.
 *
 * The parent is only an optimisation hint plus a history link: a parent tree that cannot be read
 * (corrupt, or its pack is gone) must not stop a snapshot — the subtree is then simply read from
 * disk again. Errors of the store itself (transient, auth) do stop it, because they would stop
 * the uploads too.
 */
import type { Repository, SnapshotRecord } from '../repo/index.js';
import type { BlobId, SnapshotId, Tree, TreeEntry } from '../repo/types.js';
import { isObjectError } from '../store/index.js';

/** A parent directory's entries by name; empty when there is no parent for that directory. */
export type ParentDir = ReadonlyMap<string, TreeEntry>;

export const NO_PARENT: ParentDir = new Map();

/**
 * The explicit parent when given (it must exist), else the snapshot this device's head points at,
 * else the newest snapshot of any head, else undefined.
 */
export async function resolveParent(repo: Repository, layer: string, device: string, parent?: SnapshotId): Promise<SnapshotRecord | undefined> {
  if (parent !== undefined) return { id: parent, snapshot: await repo.loadSnapshot(layer, parent) };
  const { heads } = await repo.listHeads(layer);
  const mine = heads.find((h) => h.device === device);
  if (mine) {
    try {
      return { id: mine.snapshot, snapshot: await repo.loadSnapshot(layer, mine.snapshot) };
    } catch (err) {
      if (!isObjectError(err)) throw err;
    }
  }
  try {
    return await repo.latestSnapshot(layer);
  } catch (err) {
    // latestSnapshot throws when every head is unreadable: then there is nothing to build on.
    if (!isObjectError(err)) throw err;
    return undefined;
  }
}

export function byName(tree: Tree): ParentDir {
  return new Map(tree.entries.map((e) => [e.name, e]));
}

/** The entries of parent tree `id`, or NO_PARENT when there is none or it cannot be read. */
export async function loadParentDir(repo: Repository, id: BlobId | undefined): Promise<ParentDir> {
  if (id === undefined) return NO_PARENT;
  try {
    return byName(await repo.loadTree(id));
  } catch (err) {
    if (!isObjectError(err)) throw err;
    return NO_PARENT;
  }
}

/** The parent's subtree id for a directory entry named `name`, if it was a directory. */
export function parentSubtree(dir: ParentDir, name: string): BlobId | undefined {
  const e = dir.get(name);
  return e?.type === 'dir' ? e.subtree : undefined;
}
