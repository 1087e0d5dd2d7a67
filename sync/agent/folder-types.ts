/**
 * What a synced folder (folder.ts) is given, and what one pass reports: its progress as it goes
 * (PassPhase) and its outcome (PassResult).
 *
 * Must hold: the folder's state files — the executor's journal, the pending merge, the settled
 * record, the kept trees — live outside the root, so that no scan sees them and no sync touches them.
 */
import type { NotCarried } from '../../shared/agent-api.js';
import type { Conflict } from '../plan/index.js';
import type { Repository } from '../repo/index.js';
import type { BlobId, SnapshotId } from '../repo/types.js';
import type { FileChunker } from '../snapshot/index.js';
import type { FileIndex } from '../state/index.js';
import type { Excluder } from '../watch/index.js';
import type { HeldDeletes } from './guard.js';
import type { ScanResult } from './local.js';

export interface FolderOptions {
  repo: Repository;
  root: string;
  layer: string;
  device: string;
  /** The folder's stat cache (sync/state openFileIndex(dir, 'statcache')). */
  index: FileIndex;
  /** The executor's journal file, outside the root. */
  execJournal: string;
  /** Where a merge being applied is recorded (pending.ts), outside the root. */
  pendingFile: string;
  /** Where the last synced pass is recorded for the start-up short cut (settled.ts), outside the root. */
  settledFile: string;
  /**
   * Where the trees the folder reads and writes are kept across restarts (tree-files.ts), outside
   * the root; without it, the first pass after a start fetches them all from the bucket again.
   */
  treeDir?: string;
  /** Where the deletes of the last hour are kept across restarts (guard.ts), outside the root; without it, in memory only. */
  deletesFile?: string;
  /** Where the user's answer to a held mass delete is kept until a pass carries it out (answer.ts), outside the root; without it, in memory only. */
  answerFile?: string;
  /**
   * The paths the machine's own image had when the sign-in laid the layer (base.ts), outside the
   * root; deleting one writes a whiteout. Without it, or while it is missing, the base is empty.
   */
  baseFile?: string;
  /**
   * Root trees of the layers under this one (org layers, lowest first), as laid onto the disk at
   * sign-in. The folder then shows overlay([...lower, layer]) and syncs only the user layer:
   * changes to lower files are copied up, deletes of them written as whiteouts (DESIGN §1).
   */
  lower?: readonly BlobId[];
  /**
   * Set while the org layers are switched to `lower` (SyncFolder.switchLower): the roots the disk
   * was laid from. A pass reads the disk against both, path by path (overlay's laidLower: a file
   * holding either version is not the user's), takes it to `lower`, and records the switch as a
   * pending merge, so that a pass cut off half-way is finished, not taken for the user's edits.
   */
  lowerBefore?: readonly BlobId[];
  /**
   * The key of the snapshot each root of `lower` and `lowerBefore` was laid from, for the error
   * when no index holds one of those trees.
   */
  rootKeys?: ReadonlyMap<BlobId, string>;
  exclude: Excluder;
  chunker?: FileChunker;
  /** The clock for snapshot times. */
  now?: () => Date;
  /** Snapshots of the layer's history kept in memory between passes (default history.ts SNAPSHOTS_KEPT). */
  snapshotsKept?: number;
  caseInsensitive?: boolean;
  /** The watcher's echo suppression. */
  suppress?: (path: string, stat: { size: number; mtimeMs: number; ctimeMs?: number } | null) => void;
  onPhase?: (phase: PassPhase) => void;
}

/** Progress of one step of a pass (shared/agent-api.ts Progress, without the rate). */
export interface PassPhase {
  state: 'scanning' | 'uploading' | 'downloading';
  files: number;
  filesTotal: number;
  bytes: number;
  bytesTotal: number;
  /** The totals are what the scan found so far, and may grow. */
  counting: boolean;
}

export type PassResult =
  /**
   * `answered`: the user's answer to a hold (confirm, restore) that the pass carried out. `wrote`:
   * how many operations the pass applied to the disk (files written, removed, moved; 0: it left the disk as it found it).
   * `notCarried`: an answer the pass found no hold for, dropped, and why.
   */
  | { status: 'synced'; snapshot?: SnapshotId; conflicts: Conflict[]; scan: ScanResult; uploaded: number; downloaded: number; wrote: number; files: number; answered?: 'confirm' | 'restore'; notCarried?: NotCarried }
  /** The disk changed while the plan was applied: run another pass (an answer it acted on stands for it). */
  | { status: 'retry'; scan: ScanResult }
  /** `files`: what the disk holds at the held pass's scan (the hold's deletes made here are gone from it; those from elsewhere are not). */
  | { status: 'held'; held: HeldDeletes; scan: ScanResult; files: number };
