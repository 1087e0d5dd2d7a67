/**
 * planApply(local, merged): the disk operations that turn the scanned local tree into the merged
 * one (op semantics in ops.ts). Four phases, each reading the simulated disk it leaves behind:
 *
 * 1. mkdir the new dirs whose place is free, parents first;
 * 2. rescue local content that the merged tree still needs but whose path is going away or being
 *    overwritten (a conflict copy of a local edit, a file moved into a new dir): copy/move it to
 *    its new place now, or, when that place is not free yet, move it to a stash at the root;
 * 3. delete what the merged tree does not have (or has with another kind), children first;
 * 4. create and update the rest, parents first: content comes from the stash, else from a local
 *    file that has it, and only content the disk never had is fetched from the store.
 *
 * So a file's bytes are never destroyed while the merged tree still needs them and the disk is
 * their only copy, and every stash is consumed by the end.
 *
 * Whiteouts: a whiteout in `merged` means "nothing on disk at this path" (its lower layers are
 * already overlaid by the caller, or there are none), so the plan reaches withoutWhiteouts(merged)
 * and no op ever carries a whiteout. `local` is a scanned disk and must hold none.
 */
import { StrataError } from '../errors.js';
import { foldKey, hasCaseCollisions } from './casefold.js';
import { SimulatedDisk } from './disk.js';
import { ancestorsOf, compareStrings, parentOf, sameContent, sameNode } from './nodes.js';
import { countOp, emptySummary, type ApplyOp, type ApplyPlan } from './ops.js';
import { withoutWhiteouts } from './flat.js';
import type { DiskNode, FileNode, FlatTree } from './types.js';

/** Stash names start with this; the scanner must skip them (they are the engine's own). */
export const STASH_PREFIX = '.strata-stash-';

export interface ApplyOptions {
  /** The disk compares names case-insensitively (Windows, macOS). */
  caseInsensitive?: boolean;
}

class PlanBuilder {
  readonly ops: ApplyOp[] = [];
  readonly disk: SimulatedDisk;
  /** content → stash path holding it */
  private readonly stash = new Map<string, string>();
  /** content → stashed targets still to place */
  private readonly stashUses = new Map<string, number>();
  /** content → merged paths that need it and do not have it yet */
  private readonly needs = new Map<string, string[]>();
  private readonly wanted: string[];
  private mergedFolds: Set<string> | undefined;

  constructor(
    local: ReadonlyMap<string, DiskNode>,
    private readonly merged: ReadonlyMap<string, DiskNode>,
    private readonly ci: boolean,
  ) {
    this.disk = new SimulatedDisk(local, ci);
    this.wanted = [...merged.keys()].sort(compareStrings);
    for (const p of this.wanted) {
      const want = merged.get(p) as DiskNode;
      if (want.type !== 'file' || sameContent(local.get(p), want)) continue;
      const list = this.needs.get(want.content) ?? [];
      list.push(p);
      this.needs.set(want.content, list);
    }
  }

  private emit(op: ApplyOp): void {
    this.ops.push(op);
    if (op.op === 'delete') this.disk.delete(op.path);
    else this.disk.set(op.path, op.node);
    if (op.op === 'move') this.disk.delete(op.from);
  }

  private parentReady(path: string): boolean {
    const parent = parentOf(path);
    return parent === '' || (this.disk.get(parent)?.type === 'dir' && this.merged.get(parent)?.type === 'dir');
  }

  /** The disk's file at `path` keeps its content in the merged tree. */
  private stays(path: string): boolean {
    return sameContent(this.disk.get(path), this.merged.get(path));
  }

  mkdirFreeDirs(): void {
    for (const p of this.wanted) {
      const want = this.merged.get(p) as DiskNode;
      if (want.type === 'dir' && this.disk.isFree(p) && this.parentReady(p)) this.emit({ op: 'mkdir', path: p, node: want, expect: null });
    }
  }

  rescue(): void {
    for (const [content, targets] of [...this.needs].sort(([a], [b]) => compareStrings(a, b))) {
      const holders = this.disk.holdersOf(content);
      if (holders.length === 0 || holders.some((h) => this.stays(h))) continue;
      const from = holders[0] as string;
      const expectFrom = this.disk.get(from) as FileNode;
      const free = (t: string) => (targets.length === 1 ? this.disk.isFreeExcept(t, from) : this.disk.isFree(t));
      if (targets.every((t) => free(t) && this.parentReady(t))) {
        targets.forEach((t, i) => {
          const op = i === targets.length - 1 ? 'move' : 'copy';
          this.emit({ op, from, expectFrom, path: t, node: this.merged.get(t) as FileNode, expect: null });
        });
        this.needs.delete(content);
      } else {
        const at = this.freeStashPath();
        this.emit({ op: 'move', from, expectFrom, path: at, node: expectFrom, expect: null });
        this.stash.set(content, at);
        this.stashUses.set(content, targets.length);
      }
    }
  }

  private freeStashPath(): string {
    const fold = this.ci ? foldKey : (p: string) => p;
    this.mergedFolds ??= new Set(this.wanted.map(fold));
    for (let n = 1; ; n++) {
      const p = `${STASH_PREFIX}${n}`;
      if (this.disk.isFree(p) && !this.mergedFolds.has(fold(p))) return p;
    }
  }

  deleteStale(): void {
    const stashed = new Set(this.stash.values());
    // Only the paths that go are sorted (children first): most of a big tree stays.
    const stale = this.disk.pathsWhere((p, cur) => {
      const want = this.merged.get(p);
      return !stashed.has(p) && (want === undefined || want.type !== cur.type);
    });
    for (const p of stale.reverse()) this.emit({ op: 'delete', path: p, expect: this.disk.get(p) as DiskNode });
  }

  create(): void {
    for (const p of this.wanted) {
      const want = this.merged.get(p) as DiskNode;
      const cur = this.disk.get(p);
      if (sameNode(cur, want)) continue;
      const expect = cur ?? null;
      if (cur !== undefined && sameContent(cur, want)) this.emit({ op: 'setmeta', path: p, node: want, expect: cur });
      else if (want.type === 'dir') this.emit({ op: 'mkdir', path: p, node: want, expect: null });
      else if (want.type === 'symlink') this.emit({ op: 'symlink', path: p, node: want, expect });
      else this.emitFile(p, want, expect);
    }
  }

  private emitFile(path: string, node: FileNode, expect: DiskNode | null): void {
    const stashed = this.stash.get(node.content);
    if (stashed !== undefined) {
      // Each target of a stashed content comes through here exactly once: the last one moves it.
      const left = (this.stashUses.get(node.content) ?? 1) - 1;
      this.stashUses.set(node.content, left);
      const op = left === 0 ? 'move' : 'copy';
      this.emit({ op, from: stashed, expectFrom: this.disk.get(stashed) as FileNode, path, node, expect });
      if (op === 'move') this.stash.delete(node.content);
      return;
    }
    const from = this.disk.anyHolder(node.content, path);
    if (from !== undefined) this.emit({ op: 'copy', from, expectFrom: this.disk.get(from) as FileNode, path, node, expect });
    else this.emit({ op: 'write', path, node, expect });
  }
}

function checkMerged(merged: FlatTree, ci: boolean): void {
  for (const p of merged.keys()) {
    const missing = ancestorsOf(p).find((a) => merged.get(a)?.type !== 'dir');
    if (missing !== undefined) throw new StrataError('E_PLAN_BAD_TREE', `the merged tree has no dir at ${missing}`, { path: p });
  }
  if (ci && hasCaseCollisions([...merged].filter(([, n]) => n.type !== 'whiteout').map(([p]) => p))) {
    throw new StrataError('E_PLAN_BAD_TREE', 'the merged tree has names that collide on a case-insensitive disk');
  }
}

function checkLocal(local: FlatTree): ReadonlyMap<string, DiskNode> {
  for (const [p, n] of local) {
    if (n.type === 'whiteout') throw new StrataError('E_PLAN_BAD_TREE', 'the scanned tree has a whiteout, which no disk can hold', { path: p });
  }
  return local as ReadonlyMap<string, DiskNode>;
}

/** The ordered operations that make `local` equal `merged` (without its whiteouts). Pure. */
export function planApply(local: FlatTree, mergedTree: FlatTree, options: ApplyOptions = {}): ApplyPlan {
  const ci = options.caseInsensitive ?? false;
  checkMerged(mergedTree, ci);
  const merged = withoutWhiteouts(mergedTree);
  const b = new PlanBuilder(checkLocal(local), merged, ci);
  b.mkdirFreeDirs();
  b.rescue();
  b.deleteStale();
  b.create();
  if (b.disk.size !== merged.size) throw new StrataError('E_PLAN_INTERNAL', 'the plan does not reach the merged tree');
  const off = b.disk.pathsWhere((p, node) => !sameNode(node, merged.get(p)));
  if (off.length > 0) throw new StrataError('E_PLAN_INTERNAL', 'the plan does not reach the merged tree', { path: off[0] });
  const summary = emptySummary();
  for (const op of b.ops) countOp(summary, op);
  return { ops: b.ops, summary };
}
