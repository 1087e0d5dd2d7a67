/**
 * The planner's vocabulary: flat trees of one layer, the context of one merge, and what a merge
 * reports. See index.ts for the rules and invariants.
 */

export interface FileNode {
  type: 'file';
  size: number;
  mtimeMs: number;
  mode: number;
  /** A key for the bytes (e.g. a hash of the chunk list): equal content ⇔ equal key. */
  content: string;
}

export interface DirNode {
  type: 'dir';
  mode: number;
}

export interface SymlinkNode {
  type: 'symlink';
  target: string;
  /** When known (the repository records it); used only to order concurrent versions. */
  mtimeMs?: number;
}

/**
 * Hides this path, and everything under it, in the layers below (DESIGN §1; the repository's
 * WhiteoutEntry). A whiteout is a leaf: nothing is ever under it in the same tree. It carries no
 * data and never reaches a disk: planApply lays it as "nothing here".
 */
export interface WhiteoutNode {
  type: 'whiteout';
}

// Code switching on `type` must keep a default branch that refuses unknown kinds rather than
// treating them as files.
export type Node = FileNode | DirNode | SymlinkNode | WhiteoutNode;

/** What a disk can hold: every node but a whiteout. Disk operations (ops.ts) only carry these. */
export type DiskNode = FileNode | DirNode | SymlinkNode;

/**
 * One layer as a flat map: layer-relative POSIX paths ('a/b/c'; the root '' is implicit and never
 * a key) to nodes. A well-formed tree has a dir node at every proper ancestor of every key (so a
 * whiteout, like a file, has nothing under it). A disk's tree never holds whiteouts.
 */
export type FlatTree = ReadonlyMap<string, Node>;

export interface MergeContext {
  /** Device id of the side passed as `mine`. */
  mine: string;
  /** Device id of the side passed as `theirs`. */
  theirs: string;
  /** The merged tree will be laid onto a case-insensitive file system (Windows, macOS). */
  caseInsensitive?: boolean;
}

export type ConflictReason =
  /** Both sides changed the file (or symlink) differently. */
  | 'edit'
  /** Both sides changed the path, to different kinds (file, dir, symlink). */
  | 'type'
  /** A dir kept the path because something inside it survived; the other node moved aside. */
  | 'parent'
  /** Two names that are equal on a case-insensitive file system. */
  | 'case';

export interface Conflict {
  /** Where the losing version would have been. */
  path: string;
  /** Where the losing version is now (its conflict copy). */
  copy: string;
  /** The device that made the losing version. */
  device: string;
  reason: ConflictReason;
}

export interface MergeResult {
  merged: Map<string, Node>;
  /** Sorted by `copy`. Identical for both argument orders, like `merged`. */
  conflicts: Conflict[];
}
