/**
 * What a seed reports back to the test, and how a failure is classified: its kind says which
 * check failed, its flags what happened on the way (printed with the seed, to tell failures apart).
 */
import type { WorldStore } from './world.js';

export type FailureKind =
  /** The devices' folders differ, or differ from the layer's tree. */
  | 'diverged'
  /** Passes kept changing things (or failing) after the store healed. */
  | 'no-convergence'
  /** A full rescan found a change the watcher-driven scans had missed. */
  | 'missed-change'
  /** A version the survival rule protects is not in the final tree. */
  | 'lost'
  /** A file holds bytes no step wrote, or engine temp files were left behind. */
  | 'corrupt'
  /** A pass failed with an error that no injected fault explains, or something threw. */
  | 'error'
  /** The agent left a rejected promise unhandled (a real agent process would die). */
  | 'unhandled';

/** Things a seed ran into, for telling known bugs apart. */
export type Flag =
  /** A pass failed with the PackWriter's error after a failed upload ("a pack upload failed: …"). */
  | 'poisoned-writer'
  /** A pass left a pending merge (pending.json) behind. */
  | 'pending-merge';

export interface SeedStats {
  devices: number;
  /** Conflict copies in the final tree. */
  conflicts: number;
  /** Passes whose process crashed. */
  crashes: number;
  /** Versions written, and of those the ones the rule required in the end. */
  versions: number;
  required: number;
  flags: Flag[];
  trace: readonly string[];
}

export type SeedReport =
  | { seed: number; ok: true; stats: SeedStats }
  | { seed: number; ok: false; kind: FailureKind; message: string; flags: Flag[]; trace: readonly string[] };

export interface WorkerOptions {
  steps: number;
  base: string;
  keep?: boolean;
  verbose?: boolean;
  brokenMerge?: boolean;
  where?: WorldStore;
}
