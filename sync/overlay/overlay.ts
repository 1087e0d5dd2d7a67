/**
 * overlay(layers): the effective tree of a stack of layers, lowest first (rules in index.ts).
 *
 * One pass over the union of paths, parents before children. For each path it knows `cut`: the
 * highest layer that has a whiteout, a file or a symlink at one of the path's proper ancestors.
 * A layer at or below the cut cannot show the path (something above it hides the whole subtree);
 * of the layers above the cut, the highest that mentions the path decides, and a whiteout there
 * means "nothing". Every layer is well-formed, so a layer above the cut holds dirs at all the
 * path's ancestors, and those dirs win there too: the result is well-formed by construction.
 */
import { StrataError } from '../errors.js';
import { parentOf, unionPaths } from '../plan/nodes.js';
import type { DiskNode, FlatTree } from '../plan/types.js';

/** Refuses a tree that is not well-formed: each key's parent must be a dir key (or the root). */
export function checkWellFormed(tree: FlatTree, what: string): void {
  for (const p of tree.keys()) {
    const parent = parentOf(p);
    if (parent !== '' && tree.get(parent)?.type !== 'dir') {
      throw new StrataError('E_OVERLAY_BAD_LAYER', `${what} has no dir at ${parent}`, { path: p });
    }
  }
}

/** Refuses a tree with a whiteout where only a disk's (or an effective) tree may go. */
export function checkNoWhiteouts(tree: FlatTree, what: string): void {
  for (const [p, n] of tree) {
    if (n.type === 'whiteout') throw new StrataError('E_OVERLAY_BAD_LAYER', `${what} holds a whiteout`, { path: p });
  }
}

/** The highest layer with a non-dir at `path`, or -1. */
function topNonDir(layers: readonly FlatTree[], path: string): number {
  for (let i = layers.length - 1; i >= 0; i--) {
    const n = layers[i]?.get(path);
    if (n !== undefined && n.type !== 'dir') return i;
  }
  return -1;
}

/**
 * The effective tree of `layers` (lowest first): well-formed, without whiteouts, sorted by path.
 * Each layer must be well-formed (E_OVERLAY_BAD_LAYER otherwise).
 */
export function overlay(layers: readonly FlatTree[]): Map<string, DiskNode> {
  layers.forEach((layer, i) => checkWellFormed(layer, `layer ${i}`));
  const cuts = new Map<string, number>();
  const out = new Map<string, DiskNode>();
  for (const p of unionPaths(...layers)) {
    const parent = parentOf(p);
    // The parent is a key of every layer that has p, so unionPaths put it (and its cut) first.
    const cut = parent === '' ? -1 : Math.max(cuts.get(parent) ?? -1, topNonDir(layers, parent));
    cuts.set(p, cut);
    for (let i = layers.length - 1; i > cut; i--) {
      const n = layers[i]?.get(p);
      if (n === undefined) continue;
      if (n.type !== 'whiteout') out.set(p, n);
      break;
    }
  }
  return out;
}
