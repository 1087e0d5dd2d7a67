/**
 * The three-way merge of one layer: merge3(base, mine, theirs, ctx) → merged tree + conflicts.
 * The rules and the invariants it must keep are in index.ts; this file is their implementation,
 * in three passes:
 *
 * 1. per path, decide from (base, mine, theirs) what stays and which version loses a conflict;
 * 2. make the tree well-formed: every ancestor of a surviving path becomes a dir again (a deleted
 *    dir is revived, a file or symlink standing in the way is moved aside);
 * 3. give each loser its conflict name, then (case-insensitive targets) resolve fold collisions.
 *
 * Whiteouts (index.ts) are leaves with one fixed content; they lose like a delete and never become
 * conflict copies.
 *
 * Every decision is a function of the set {(mine, ctx.mine), (theirs, ctx.theirs)}, never of which
 * side is which, so swapping the sides gives the same tree.
 */
import { foldKey, foldLayerTree } from './casefold.js';
import { freeConflictPath } from './conflict-name.js';
import { ancestorsOf, compareStrings, compareVersions, mtimeOf, newer, sameContent, sameNode, unionPaths, type Version } from './nodes.js';
import type { Conflict, ConflictReason, DirNode, FlatTree, MergeContext, MergeResult, Node } from './types.js';

/** Mode for a dir that must exist but that no side has as a dir (rare: see reviveAncestors). */
export const DEFAULT_DIR_MODE = 0o755;

interface Side {
  node: Node | undefined;
  device: string;
}

interface Loser {
  path: string;
  version: Version;
  reason: ConflictReason;
}

interface Resolution {
  keep?: Version;
  loser?: Omit<Loser, 'path'>;
}

function present(side: Side): Version | undefined {
  return side.node === undefined ? undefined : { node: side.node, device: side.device };
}

/** One side deleted the path, the other changed it: the change wins, except a dir that was a dir. */
function changedVsDeleted(base: Node | undefined, kept: Version): Resolution {
  // A dir that merely survived (or changed mode) goes with the delete; pass 2 revives it if
  // anything inside it survives, so only the children the other side left alone stay deleted.
  if (kept.node.type === 'dir' && base?.type === 'dir') return {};
  return { keep: kept };
}

/**
 * One side whited the path out, the other changed it otherwise: like change vs delete. A whiteout
 * carries no data, so it never becomes a conflict copy; losing, it just goes.
 */
function whiteoutVsChanged(base: Node | undefined, whiteout: Version, changed: Version): Resolution {
  // A dir that merely survived goes with the whiteout; pass 2 turns the whiteout back into a dir
  // if anything the other side changed inside it survives.
  if (changed.node.type === 'dir' && base?.type === 'dir') return { keep: whiteout };
  return { keep: changed };
}

/** Both sides changed the path, to different nodes. */
function bothChanged(base: Node | undefined, x: Version, y: Version): Resolution {
  if (x.node.type === 'whiteout') return whiteoutVsChanged(base, x, y);
  if (y.node.type === 'whiteout') return whiteoutVsChanged(base, y, x);
  if (x.node.type === 'dir' && y.node.type === 'dir') return { keep: newer(x, y) };
  if (x.node.type === 'dir') return { keep: x, loser: { version: y, reason: 'type' } };
  if (y.node.type === 'dir') return { keep: y, loser: { version: x, reason: 'type' } };
  if (sameContent(x.node, y.node)) return { keep: newer(x, y) };
  // A metadata-only change (touch, chmod) gives way to a content change without a conflict.
  if (sameContent(x.node, base)) return { keep: y };
  if (sameContent(y.node, base)) return { keep: x };
  const win = newer(x, y);
  const lose = win === x ? y : x;
  return { keep: win, loser: { version: lose, reason: x.node.type === y.node.type ? 'edit' : 'type' } };
}

function resolvePath(base: Node | undefined, mine: Side, theirs: Side, both: string): Resolution {
  const x = present(mine);
  const y = present(theirs);
  if (sameNode(mine.node, theirs.node)) return x ? { keep: { node: x.node, device: both } } : {};
  if (sameNode(mine.node, base)) return y ? { keep: y } : {};
  if (sameNode(theirs.node, base)) return x ? { keep: x } : {};
  if (x === undefined) return changedVsDeleted(base, y as Version);
  if (y === undefined) return changedVsDeleted(base, x);
  return bothChanged(base, x, y);
}

class Draft {
  readonly out = new Map<string, Version>();
  readonly losers: Loser[] = [];

  constructor(
    private readonly mine: FlatTree,
    private readonly theirs: FlatTree,
    private readonly base: FlatTree,
    private readonly ctx: MergeContext,
  ) {}

  /** The dir to put at `path` when something inside it survived but the path itself did not. */
  private dirFor(path: string): Version {
    const dirs = [
      { node: this.mine.get(path), device: this.ctx.mine },
      { node: this.theirs.get(path), device: this.ctx.theirs },
    ].filter((v): v is Version => v.node?.type === 'dir');
    if (dirs.length > 0) return dirs.reduce(newer);
    const b = this.base.get(path);
    const node: DirNode = b?.type === 'dir' ? b : { type: 'dir', mode: DEFAULT_DIR_MODE };
    return { node, device: bothDevices(this.ctx) };
  }

  /** Pass 2: every proper ancestor of a kept path must be a dir. */
  reviveAncestors(): void {
    for (const path of [...this.out.keys()].sort(compareStrings)) {
      for (const a of ancestorsOf(path)) {
        const held = this.out.get(a);
        if (held?.node.type === 'dir') continue;
        // A whiteout in the way just goes: it carries no data to keep aside.
        if (held && held.node.type !== 'whiteout') this.losers.push({ path: a, version: held, reason: 'parent' });
        this.out.set(a, this.dirFor(a));
      }
    }
  }

  /** Pass 3: losers go next to where they were, under a name nothing else has. */
  placeLosers(): { tree: Map<string, Node>; origin: Map<string, string>; conflicts: Conflict[] } {
    const tree = new Map<string, Node>();
    const origin = new Map<string, string>();
    for (const [p, v] of this.out) {
      tree.set(p, v.node);
      origin.set(p, v.device);
    }
    const fold = this.ctx.caseInsensitive ? foldKey : (p: string) => p;
    const taken = new Set([...tree.keys()].map(fold));
    const conflicts: Conflict[] = [];
    const order = (a: Loser, b: Loser) => compareStrings(a.path, b.path) || compareVersions(a.version, b.version);
    for (const l of [...this.losers].sort(order)) {
      const copy = freeConflictPath(l.path, mtimeOf(l.version.node), l.version.device, (c) => taken.has(fold(c)));
      taken.add(fold(copy));
      tree.set(copy, l.version.node);
      origin.set(copy, l.version.device);
      conflicts.push({ path: l.path, copy, device: l.version.device, reason: l.reason });
    }
    return { tree, origin, conflicts };
  }
}

/** The device named when a version was made by both sides (or by neither): the same for both. */
function bothDevices(ctx: MergeContext): string {
  return compareStrings(ctx.mine, ctx.theirs) >= 0 ? ctx.mine : ctx.theirs;
}

/** The three-way merge. Pure: the result depends only on the arguments (see index.ts). */
export function merge3(base: FlatTree, mine: FlatTree, theirs: FlatTree, ctx: MergeContext): MergeResult {
  const draft = new Draft(mine, theirs, base, ctx);
  const both = bothDevices(ctx);
  for (const p of unionPaths(base, mine, theirs)) {
    const r = resolvePath(base.get(p), { node: mine.get(p), device: ctx.mine }, { node: theirs.get(p), device: ctx.theirs }, both);
    if (r.keep) draft.out.set(p, r.keep);
    if (r.loser) draft.losers.push({ path: p, ...r.loser });
  }
  draft.reviveAncestors();
  const placed = draft.placeLosers();
  let { tree: merged, conflicts } = placed;
  if (ctx.caseInsensitive) {
    const folded = foldLayerTree(merged, (p) => placed.origin.get(p) ?? both);
    merged = folded.tree;
    const moved = conflicts.map((c) => ({ ...c, path: folded.relocate(c.path), copy: folded.relocate(c.copy) }));
    conflicts = moved.concat(folded.conflicts);
  }
  const sorted = new Map([...merged].sort(([a], [b]) => compareStrings(a, b)));
  return { merged: sorted, conflicts: conflicts.sort((a, b) => compareStrings(a.copy, b.copy)) };
}
