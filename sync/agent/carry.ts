/**
 * What a pass leaves alone, and how the local side of its merge still holds it. A path this
 * device cannot see this pass — excluded here, or at or under a path the scan could not read —
 * must not look deleted: the local side carries its version from this device's own head, and the
 * pass never touches it on disk.
 */
import { STASH_PREFIX, sameNode, type FlatTree, type Node } from '../plan/index.js';
import { ancestorsOf, compareStrings, parentOf } from '../plan/nodes.js';
import { TOO_LONG } from '../snapshot/listing.js';
import type { LocalTree, ScanResult } from './local.js';

/** Whether the pass leaves a path alone; a dir is matched as a dir. */
export type Hidden = (path: string, node: Node) => boolean;

/**
 * True for paths at or under one the scan could not read this pass. Asked about every path of the
 * layer several times a pass, so it looks up the path and its ancestors (as many as its depth),
 * not every skipped path: a folder may hold thousands of entries that cannot be read.
 */
export function unreadTest(scan: ScanResult): (path: string) => boolean {
  return atOrUnder(scan.skipped);
}

/** True for paths at or under one of `paths`: the path and its ancestors are looked up. */
function atOrUnder(paths: { has(path: string): boolean; readonly size: number }): (path: string) => boolean {
  return (p) => {
    if (paths.size === 0) return false;
    for (let at = p; ; at = at.slice(0, at.lastIndexOf('/'))) {
      if (paths.has(at)) return true;
      if (!at.includes('/')) return false;
    }
  };
}

/**
 * True for paths this device must not manage this pass: excluded, at/under an unreadable one, or
 * too long to be laid under this machine's root (`tooLong`: another machine, whose root is higher
 * up, synced them).
 */
export function hiddenTest(local: LocalTree, scan: ScanResult, tooLong: (path: string) => boolean = () => false, held: ReadonlySet<string> = new Set()): Hidden {
  const unread = unreadTest(scan);
  return (p, node) => local.isExcluded(p, node.type === 'dir') || unread(p) || tooLong(p) || held.has(p);
}

/**
 * The paths this device's head names that the disk lacks, while the scan finds a path too long to
 * read (TOO_LONG): what was there may have moved where it cannot be read (a folder renamed longer
 * takes what is under it past PATH_MAX), and a path that cannot be read must never be taken for
 * deleted. Those deletes are held — carried, left alone on disk, the disk not taken to lag there —
 * and go once every path can be read again.
 */
export function heldDeletes(local: LocalTree, ownTree: ReadonlyMap<string, Node>, scan: ScanResult): Set<string> {
  if (![...scan.skipped.values()].includes(TOO_LONG)) return new Set();
  const mine = local.flat();
  return new Set([...ownTree.keys()].filter((p) => !mine.has(p)));
}

/**
 * The two sides of the pass's plan without what the pass leaves alone. Hidden paths are in
 * neither: the local tree still holds what the scan could not read now (a dir it could not list
 * keeps its children's entries), and planned against a target without them, those would be
 * deleted from the disk. A dir holding a hidden path stays a dir even where the merged tree lost
 * it: what is inside is not the pass's to remove.
 */
export function planSides(local: FlatTree, effective: FlatTree, hidden: Hidden): { local: Map<string, Node>; target: Map<string, Node> } {
  const target = new Map([...effective].filter(([p, n]) => !hidden(p, n)));
  const visible = new Map<string, Node>();
  for (const [p, n] of local) {
    // A stash an apply left at the root (plan/apply.ts) is the engine's own leftover, excluded from
    // sync but not from the plan: it stays on the local side, so the plan removes it.
    if (!hidden(p, n) || p.startsWith(STASH_PREFIX)) {
      visible.set(p, n);
      continue;
    }
    for (const a of ancestorsOf(p)) {
      const have = target.get(a);
      if (have?.type === 'dir') continue;
      const dir = local.get(a);
      if (have !== undefined || dir?.type !== 'dir' || hidden(a, dir)) break;
      target.set(a, dir);
    }
  }
  return { local: visible, target };
}

/**
 * What the disk holds once the plan reached `target`: that, and the hidden paths as the local
 * side has them (under dirs it has), but those `unlaid` (carried, never on this disk). Where a
 * path the scan could not read differs from the merged tree there, the disk lags it (see
 * folder.ts).
 */
export function diskAfter(target: FlatTree, scanned: FlatTree, hidden: Hidden, unlaid: (path: string) => boolean = () => false): Map<string, Node> {
  const out = new Map(target);
  for (const [p, n] of [...scanned].sort(([a], [b]) => compareStrings(a, b))) {
    if (!hidden(p, n) || out.has(p) || unlaid(p)) continue;
    const parent = parentOf(p);
    if (parent === '' || out.get(parent)?.type === 'dir') out.set(p, n);
  }
  return out;
}

/** Whether `after` differs from `effective` (whiteouts read as nothing) at some path `unread` names. */
export function lagsAt(after: FlatTree, effective: FlatTree, unread: (path: string) => boolean): boolean {
  const disk = (n: Node | undefined) => (n?.type === 'whiteout' ? undefined : n);
  for (const [p, n] of after) if (unread(p) && !sameNode(n, disk(effective.get(p)))) return true;
  for (const [p, n] of effective) if (unread(p) && disk(n) !== undefined && !after.has(p)) return true;
  return false;
}

/**
 * The scanned tree plus, for hidden paths, their version in this device's head (under dirs the
 * scan has). Not at or under a path the executor could not write: what the head names there may
 * never have been laid, and carried, it would read as deleted once the path is tried again. A
 * path too long to be laid here is carried (it is never tried: a sign-in that could not lay it
 * still made the head name it), and the disk recorded as lagging there (diskAfter's `unlaid`).
 */
export function withCarry(local: LocalTree, ownTree: Map<string, Node>, hidden: Hidden, scan: ScanResult): Map<string, Node> {
  const mine = local.flat();
  const unwritten = atOrUnder(scan.unwritten ?? new Set());
  for (const [p, node] of [...ownTree].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!hidden(p, node) || mine.has(p) || unwritten(p)) continue;
    const parent = p.lastIndexOf('/') < 0 ? '' : p.slice(0, p.lastIndexOf('/'));
    if (parent === '' || mine.get(parent)?.type === 'dir') mine.set(p, node);
  }
  return mine;
}
