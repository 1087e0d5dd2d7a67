/**
 * laidLower(disk, before, after): the lower tree a disk was laid from while its org layers are
 * being switched from `before` to `after` (a new version published, other layers assigned). The
 * pass that makes the switch replaces the files of `before` with those of `after` one by one, and
 * may be cut off half-way; userView against this tree tells the user's changes from the switch's,
 * path by path:
 *
 * - a path whose disk node is `after`'s has it from `after` (switched already);
 * - any other path `before` has comes from `before` when the disk has it, or `after` has it too
 *   (missing from the disk there, it was deleted by the user: a whiteout);
 * - a path only `after` has, missing from the disk, is not laid yet; one only `before` has,
 *   missing, was dropped by the switch: neither is the user's deletion, so neither is in the tree;
 * - a path where the disk holds something else that `before` lacks is the user's own (in neither).
 *
 * A dir on the disk matching neither version's mode comes from `before` if it has the dir there
 * (the mode is the user's change, copied up), else from `after`.
 * The result is well-formed and whiteout-free (a path is in only under a dir of the result), so
 * userView's invariants hold over it; and whatever part of a switch reached the disk,
 * overlay([after, userView(disk, laidLower(disk, before, after), user)]) is where the whole switch
 * ends: the user's layer, over `after` (property-tested in switching.test.ts).
 */
import { compareStrings, parentOf, sameNode } from '../plan/nodes.js';
import type { FlatTree, Node } from '../plan/types.js';

export function laidLower(disk: FlatTree, before: FlatTree, after: FlatTree): Map<string, Node> {
  const out = new Map<string, Node>();
  const paths = [...new Set([...before.keys(), ...after.keys()])].sort(compareStrings);
  // Sorted, a parent comes before its children: a path is in only under a dir already in.
  for (const p of paths) {
    const parent = parentOf(p);
    if (parent !== '' && out.get(parent)?.type !== 'dir') continue;
    const node = pick(disk.get(p), before.get(p), after.get(p));
    if (node !== undefined) out.set(p, node);
  }
  return out;
}

function pick(d: Node | undefined, b: Node | undefined, a: Node | undefined): Node | undefined {
  if (a !== undefined && sameNode(d, a)) return a;
  if (d?.type === 'dir') return b?.type === 'dir' ? b : a?.type === 'dir' ? a : undefined;
  if (b !== undefined && (d !== undefined || a !== undefined)) return b;
  return undefined;
}
