/**
 * The local side of a pass's merge — "mine" to remote.ts — built from the local tree:
 *
 *   scanned  the local tree, plus, for the paths this device cannot see this pass, their version
 *            in this device's own head (carry.ts);
 *   disk     `scanned` resolved against a merge still being applied, if any (pending.ts);
 *   mine     `disk` in the user layer's terms over the org layers: copy-ups and whiteouts, and
 *            whiteouts for the machine's own files that are gone (base.ts): its `paths`, and those
 *            it `covered` where this device's user layer holds a version of its own.
 *
 * Must hold: paths this device cannot see — excluded here, unreadable now, gone while a path too
 * long to read may hold them (heldDeletes) — keep their version from this device's head, so they
 * never look deleted; `hidden` names them, and the pass must leave them alone on disk.
 */
import { laidLower, overlay, userView } from '../overlay/index.js';
import { foldKey, hasWhiteouts, type Conflict, type Node } from '../plan/index.js';
import type { SnapshotId } from '../repo/types.js';
import type { Base } from './base.js';
import { heldDeletes, hiddenTest, withCarry, type Hidden } from './carry.js';
import type { LocalTree, ScanResult } from './local.js';
import { resolvePending, type PendingMerge } from './pending.js';
import { snapshotTree, type MergeInput } from './remote.js';

export interface LocalSideInput {
  view: Pick<MergeInput, 'graph' | 'trees' | 'chunks'>;
  local: LocalTree;
  scan: ScanResult;
  /** This device's head, if it has one. */
  own: SnapshotId | undefined;
  pending: PendingMerge | undefined;
  /** The org layers' effective tree, or undefined without any. */
  lower: Map<string, Node> | undefined;
  /**
   * While the org layers are switched to `lower` (a new version): the effective tree of the ones
   * the disk was laid from. The disk is read against both, path by path (laidLower).
   */
  lowerBefore?: Map<string, Node>;
  /** The machine's own files under the layer (base.ts); a hidden one is left alone, as the disk's. */
  base?: Base;
  device: string;
  caseInsensitive?: boolean;
  /** Paths too long to be laid under this machine's root (fitsUnder): hidden, as the disk's. */
  tooLong?: (path: string) => boolean;
}

export interface LocalSide {
  /** This device's head as it lays onto the disk (over the org layers). */
  ownTree: Map<string, Node>;
  hidden: Hidden;
  scanned: Map<string, Node>;
  disk: Map<string, Node>;
  mine: Map<string, Node>;
  /** Conflicts from resolving the pending merge. */
  conflicts: Conflict[];
  /**
   * Files the pending merge deletes from the disk it began on: other devices' deletes, on the disk
   * already or still to be applied. Gone from `disk` but still in `ownTree` until this device's
   * head names the merge, they must not be taken for deletes made on this machine.
   */
  merging: Set<string>;
}

/** Stand-ins for a base path's node when asking whether it is hidden (only dir or not matters). */
const AS_DIR: Node = { type: 'dir', mode: 0o755 };
const AS_LEAF: Node = { type: 'whiteout' };

export async function localSide(input: LocalSideInput): Promise<LocalSide> {
  const { view, local, lower, lowerBefore, pending } = input;
  // The user layer as this device last wrote it, and the disk that layer made over the org layers.
  const ownLayer = await snapshotTree(view, input.own);
  const laidFrom = lowerBefore ?? lower;
  // Whiteouts never reach a disk, with org layers below or without (a VDI machine's base writes them).
  const ownTree = overlay(laidFrom === undefined ? [ownLayer] : [laidFrom, ownLayer]);
  const hidden = hiddenTest(local, input.scan, input.tooLong, heldDeletes(local, ownTree, input.scan));
  const scanned = withCarry(local, ownTree, hidden, input.scan);
  let disk = scanned;
  const conflicts: Conflict[] = [];
  const merging = new Set<string>();
  if (pending !== undefined) {
    const laidLayer = await snapshotTree(view, pending.root, true);
    const laid = overlay(lower === undefined ? [laidLayer] : [lower, laidLayer]);
    const base = await snapshotTree(view, pending.base, true);
    const r = resolvePending(base, disk, laid, input.device, input.caseInsensitive);
    disk = r.merged;
    conflicts.push(...r.conflicts);
    for (const [p, n] of base) if (n.type !== 'dir' && !laid.has(p)) merging.add(p);
  }
  const under = lowerBefore === undefined ? lower : laidLower(disk, lowerBefore, lower ?? new Map());
  // On a case-insensitive disk a base path is still there under a name differing only in case.
  const key = (p: string): string => (input.caseInsensitive ? foldKey(p) : p);
  const onDisk = input.caseInsensitive ? new Set([...disk.keys()].map(foldKey)) : undefined;
  // A path the org layers covered is the base once the user layer holds its own version there.
  const ownHeld = new Set([...ownLayer].filter(([, n]) => n.type !== 'whiteout').map(([p]) => key(p)));
  const covered = [...(input.base?.covered ?? [])].filter(([p]) => ownHeld.has(key(p)));
  const base = [...(input.base?.paths ?? []), ...covered].filter(([p, kind]) => !hidden(p, kind === 'dir' ? AS_DIR : AS_LEAF) && !onDisk?.has(foldKey(p))).map(([p]) => p);
  // With nothing below and no whiteout to keep, the layer is the disk; a whiteout of the layer (one
  // a VDI machine wrote for its image) is kept like any other, or this pass would take it out.
  const plain = under === undefined && base.length === 0 && !hasWhiteouts(ownLayer);
  const mine = plain ? disk : userView(disk, under ?? new Map(), ownLayer, base);
  return { ownTree, hidden, scanned, disk, mine, conflicts, merging };
}
