/**
 * What a pass leaves alone, and how the local side of its merge still holds it. A path this
 * device cannot see this pass — excluded here, or at or under a path the scan could not read —
 * must not look deleted: the local side carries its version from this device's own head, and the
 * pass never touches it on disk.
 */
import type { Node } from '../plan/index.js';
import type { LocalTree, ScanResult } from './local.js';

/** Whether the pass leaves a path alone; a dir is matched as a dir. */
export type Hidden = (path: string, node: Node) => boolean;

/** True for paths this device must not manage this pass: excluded, or at/under an unreadable one. */
export function hiddenTest(local: LocalTree, scan: ScanResult): Hidden {
  const skipped = [...scan.skipped.keys()];
  return (p, node) => local.isExcluded(p, node.type === 'dir') || skipped.some((s) => p === s || p.startsWith(`${s}/`));
}

/** The scanned tree plus, for hidden paths, their version in this device's head (under dirs the scan has). */
export function withCarry(local: LocalTree, ownTree: Map<string, Node>, hidden: Hidden): Map<string, Node> {
  const mine = local.flat();
  for (const [p, node] of [...ownTree].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!hidden(p, node) || mine.has(p)) continue;
    const parent = p.lastIndexOf('/') < 0 ? '' : p.slice(0, p.lastIndexOf('/'));
    if (parent === '' || mine.get(parent)?.type === 'dir') mine.set(p, node);
  }
  return mine;
}
