/**
 * Disk operations: what planApply emits and the executor carries out, in order.
 *
 * Every op names the state it expects at its target (`expect`, null = nothing there) and, for
 * copy/move, at its source (`expectFrom`). The executor must re-check those against the disk
 * right before acting (DESIGN §3) and treat a mismatch as a change made since the scan: stop
 * and re-plan, never overwrite. On a case-insensitive file system "nothing there" means no entry
 * with exactly this name; a move between names that differ only in case is a rename.
 *
 * - `mkdir`   create a dir (its parent exists).
 * - `write`   create or atomically replace a file with bytes fetched from the store by
 *             `node.content` (temp file in the same dir, fsync, rename), then set mode and mtime.
 * - `copy`    the same, with bytes copied from the local file `from`.
 * - `move`    rename `from` to `path` (replacing `expect` atomically when not null), then set
 *             mode and mtime to `node`'s.
 * - `symlink` create or atomically replace a symlink.
 * - `setmeta` change mode/mtime only; the content is already right.
 * - `delete`  remove a file, a symlink or an empty dir.
 *
 * Ops only carry disk nodes: a whiteout never reaches the executor (see apply.ts).
 */
import type { DirNode, DiskNode, FileNode, SymlinkNode } from './types.js';

export type ApplyOp =
  | { op: 'mkdir'; path: string; node: DirNode; expect: null }
  | { op: 'write'; path: string; node: FileNode; expect: DiskNode | null }
  | { op: 'copy'; from: string; expectFrom: FileNode; path: string; node: FileNode; expect: DiskNode | null }
  | { op: 'move'; from: string; expectFrom: FileNode; path: string; node: FileNode; expect: DiskNode | null }
  | { op: 'symlink'; path: string; node: SymlinkNode; expect: DiskNode | null }
  | { op: 'setmeta'; path: string; node: DiskNode; expect: DiskNode }
  | { op: 'delete'; path: string; expect: DiskNode };

export interface ApplySummary {
  mkdirs: number;
  writes: number;
  copies: number;
  moves: number;
  symlinks: number;
  setmeta: number;
  /** Files and symlinks deleted (not moved, not replaced). */
  deletedFiles: number;
  deletedDirs: number;
  /** Bytes that `write` ops fetch from the store. */
  fetchBytes: number;
}

export interface ApplyPlan {
  ops: ApplyOp[];
  summary: ApplySummary;
}

export function emptySummary(): ApplySummary {
  return { mkdirs: 0, writes: 0, copies: 0, moves: 0, symlinks: 0, setmeta: 0, deletedFiles: 0, deletedDirs: 0, fetchBytes: 0 };
}

export function countOp(s: ApplySummary, op: ApplyOp): void {
  switch (op.op) {
    case 'mkdir':
      s.mkdirs++;
      break;
    case 'write':
      s.writes++;
      s.fetchBytes += op.node.size;
      break;
    case 'copy':
      s.copies++;
      break;
    case 'move':
      s.moves++;
      break;
    case 'symlink':
      s.symlinks++;
      break;
    case 'setmeta':
      s.setmeta++;
      break;
    case 'delete':
      if (op.expect.type === 'dir') s.deletedDirs++;
      else s.deletedFiles++;
      break;
  }
}

/** Share of the local files (and symlinks) that the plan deletes; 0 for an empty local tree. */
export function deleteRatio(plan: ApplyPlan, localCount: number): number {
  return localCount > 0 ? plan.summary.deletedFiles / localCount : 0;
}

/**
 * Whether the engine must hold this plan for the user's confirmation (DESIGN §3): it would
 * delete more than half of the `localCount` files (see countFiles) the disk has now.
 */
export function needsConfirmation(plan: ApplyPlan, localCount: number): boolean {
  return deleteRatio(plan, localCount) > 0.5;
}
