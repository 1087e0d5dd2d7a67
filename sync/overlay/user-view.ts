/**
 * userView(disk, lower, previous): the user layer that, laid over `lower`, gives exactly `disk`
 * (rules and invariants in index.ts). Four steps, each reading only the inputs:
 *
 * 1. a path on the disk is in when it differs from `lower` (an edit, a touch, a new path, a type
 *    or mode change: copy-up), or when `previous` already has exactly this node there;
 * 2. a path of `lower` missing on the disk gets a whiteout, but only where its parent is a dir on
 *    the disk: a missing dir gets one whiteout, and under a disk file (which hides the lower
 *    subtree by itself) nothing is needed;
 * 3. a whiteout of `previous` at a path that neither `lower` nor the disk has stays, under the
 *    same parent condition: it hides something on another machine, and must not be lost here;
 *    so does a path of `base` missing on the disk: the machine had it under the layer (a VDI
 *    golden image's file, adopted into the layer), and the next reset machine will have it again;
 * 4. every ancestor of what is in comes in as the disk's dir, so the layer is well-formed.
 */
import { ancestorsOf, compareStrings, parentOf, sameNode } from '../plan/nodes.js';
import type { FlatTree, Node } from '../plan/types.js';
import { checkNoWhiteouts, checkWellFormed } from './overlay.js';

const WHITEOUT: Node = { type: 'whiteout' };

/**
 * The user layer for `disk` over `lower`. `disk` and `lower` must be well-formed and hold no
 * whiteouts; `previous` (the user layer the disk was last laid from; empty by default) must be
 * well-formed. E_OVERLAY_BAD_LAYER otherwise. `base`: paths the machine had before the layer was
 * laid, which are not in `lower` because their files are adopted, not shown from below (index.ts).
 */
export function userView(disk: FlatTree, lower: FlatTree, previous: FlatTree = new Map(), base: Iterable<string> = []): Map<string, Node> {
  checkWellFormed(disk, 'the disk tree');
  checkNoWhiteouts(disk, 'the disk tree');
  checkWellFormed(lower, 'the lower tree');
  checkNoWhiteouts(lower, 'the lower tree');
  checkWellFormed(previous, 'the previous user layer');

  const out = new Map<string, Node>();
  const parentOnDisk = (p: string) => {
    const parent = parentOf(p);
    return parent === '' || disk.get(parent)?.type === 'dir';
  };
  for (const [p, d] of disk) {
    if (!sameNode(d, lower.get(p)) || sameNode(d, previous.get(p))) out.set(p, d);
  }
  for (const p of lower.keys()) {
    if (!disk.has(p) && parentOnDisk(p)) out.set(p, WHITEOUT);
  }
  for (const [p, n] of previous) {
    if (n.type === 'whiteout' && !disk.has(p) && !lower.has(p) && parentOnDisk(p)) out.set(p, WHITEOUT);
  }
  for (const p of base) {
    if (!disk.has(p) && !lower.has(p) && parentOnDisk(p)) out.set(p, WHITEOUT);
  }
  for (const p of [...out.keys()]) {
    for (const a of ancestorsOf(p)) if (!out.has(a)) out.set(a, disk.get(a) as Node);
  }
  return new Map([...out].sort(([a], [b]) => compareStrings(a, b)));
}
