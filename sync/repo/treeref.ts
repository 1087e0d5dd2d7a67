/**
 * What names a tree, for the error when no index holds it (a dangling reference, or an index
 * deleted or refused). The missing blob has no key of its own: the error must name the object
 * that referenced it (DESIGN §2) — the parent tree's pack, or the snapshot whose root it is — and
 * the folder's path in the layer.
 *
 * Callers that load trees in bulk pass a lookup that is asked only when a tree is missing, so
 * that the hot paths keep no map of references they almost never need.
 */
import { StrataError } from '../errors.js';
import { short } from './json.js';
import { keys, type BlobId, type BlobLocation, type Tree } from './types.js';

export interface TreeRef {
  /** The folder's path in the layer; '' for a root. */
  path: string;
  /** The tree whose entry names it. */
  parent?: BlobId;
  /** The object that names it when no tree does: a snapshot's key, for its root. */
  key?: string;
}

/** E_BLOB_NOT_FOUND for tree `id`, naming what referenced it when `ref` says. */
export function treeNotFound(id: BlobId, ref: TreeRef | undefined, locate: (id: BlobId) => BlobLocation | undefined): StrataError {
  const parentLoc = ref?.parent === undefined ? undefined : locate(ref.parent);
  const key = ref?.key ?? (parentLoc ? keys.pack(parentLoc.pack) : undefined);
  const what = ref === undefined ? `tree ${short(id)}` : ref.path === '' ? `root tree ${short(id)}` : `tree ${short(id)} of folder ${JSON.stringify(ref.path)}`;
  const by = ref?.parent === undefined ? '' : `, named in tree ${short(ref.parent)},`;
  const where = { ...(key === undefined ? {} : { key }), ...(ref === undefined || ref.path === '' ? {} : { path: ref.path }) };
  return new StrataError('E_BLOB_NOT_FOUND', `${what}${by} is in no index of this repository (${id})`, where);
}

/**
 * Where tree `id` is named below `roots` (each with its own ref), searching the trees in memory:
 * the first folder found, breadth first. Only for errors: it walks every tree loaded.
 */
export function refIn(trees: ReadonlyMap<BlobId, Tree>, roots: Iterable<readonly [BlobId, TreeRef]>, id: BlobId): TreeRef | undefined {
  const seen = new Set<BlobId>();
  let level: [BlobId, TreeRef][] = [];
  for (const [root, ref] of roots) {
    if (root === id) return ref;
    level.push([root, ref]);
  }
  while (level.length > 0) {
    const next: [BlobId, TreeRef][] = [];
    for (const [tid, ref] of level) {
      if (seen.has(tid)) continue;
      seen.add(tid);
      for (const e of trees.get(tid)?.entries ?? []) {
        if (e.type !== 'dir') continue;
        const sub = { path: ref.path === '' ? e.name : `${ref.path}/${e.name}`, parent: tid };
        if (e.subtree === id) return sub;
        next.push([e.subtree, sub]);
      }
    }
    level = next;
  }
  return undefined;
}
