/**
 * The disk as the plan builder sees it while it emits operations: the scanned local tree with
 * every emitted operation applied. Each op's expected state is read from here, so expectations
 * are right by construction; the executor re-checks them against the real disk.
 */
import { foldKey } from './casefold.js';
import { compareStrings } from './nodes.js';
import type { DiskNode } from './types.js';

export class SimulatedDisk {
  private readonly nodes: Map<string, DiskNode>;
  /** fold key → how many paths have it (only counted on case-insensitive targets) */
  private readonly folds = new Map<string, number>();
  /** content key → paths holding a file with it */
  private readonly holders = new Map<string, Set<string>>();

  constructor(
    local: ReadonlyMap<string, DiskNode>,
    private readonly caseInsensitive: boolean,
  ) {
    this.nodes = new Map();
    // A map's keys are distinct: nothing to delete first, as set() must.
    for (const [p, n] of local) this.add(p, n);
  }

  get(path: string): DiskNode | undefined {
    return this.nodes.get(path);
  }

  get size(): number {
    return this.nodes.size;
  }

  paths(): string[] {
    return [...this.nodes.keys()].sort(compareStrings);
  }

  /** The paths whose node passes `test`, sorted: paths() without sorting the ones it leaves out. */
  pathsWhere(test: (path: string, node: DiskNode) => boolean): string[] {
    const out: string[] = [];
    for (const [p, n] of this.nodes) if (test(p, n)) out.push(p);
    return out.sort(compareStrings);
  }

  /** Nothing is at `path`, nor (case-insensitive targets) at any name that folds like it. */
  isFree(path: string): boolean {
    if (this.nodes.has(path)) return false;
    return !this.caseInsensitive || !this.folds.has(foldKey(path));
  }

  /** As isFree, but `except` does not count (a rename onto a name that differs only in case). */
  isFreeExcept(path: string, except: string): boolean {
    if (this.nodes.has(path)) return false;
    if (!this.caseInsensitive) return true;
    const n = this.folds.get(foldKey(path)) ?? 0;
    return n === 0 || (n === 1 && this.nodes.has(except) && foldKey(except) === foldKey(path));
  }

  /** Paths whose file has this content, in code-unit order. */
  holdersOf(content: string): string[] {
    return [...(this.holders.get(content) ?? [])].sort(compareStrings);
  }

  /** Some path other than `except` holding this content (the first one that got it). */
  anyHolder(content: string, except: string): string | undefined {
    for (const p of this.holders.get(content) ?? []) if (p !== except) return p;
    return undefined;
  }

  set(path: string, node: DiskNode): void {
    this.delete(path);
    this.add(path, node);
  }

  /** set() of a path that holds nothing. */
  private add(path: string, node: DiskNode): void {
    this.nodes.set(path, node);
    if (this.caseInsensitive) this.folds.set(foldKey(path), (this.folds.get(foldKey(path)) ?? 0) + 1);
    if (node.type === 'file') {
      let set = this.holders.get(node.content);
      if (set === undefined) this.holders.set(node.content, (set = new Set()));
      set.add(path);
    }
  }

  delete(path: string): void {
    const old = this.nodes.get(path);
    if (old === undefined) return;
    this.nodes.delete(path);
    if (this.caseInsensitive) {
      const k = foldKey(path);
      const n = (this.folds.get(k) ?? 1) - 1;
      if (n === 0) this.folds.delete(k);
      else this.folds.set(k, n);
    }
    if (old.type === 'file') this.holders.get(old.content)?.delete(path);
  }
}
