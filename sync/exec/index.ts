/**
 * The sync executor (DESIGN §3): applies planApply's ops (sync/plan/ops.ts) to a real directory.
 *
 *   recover(root, journalPath)            at start-up: finish or roll back what a crash left
 *   executePlan(root, ops, options)       apply a plan; stops at the first changed target
 *
 * What must always hold:
 * - an op acts only when its target (and a copy's or move's source) is exactly in the state the
 *   plan expects, re-checked right before the destructive step; otherwise it is reported as
 *   `changed` and neither it nor any later op is applied, so the engine rescans and re-plans;
 *   a path that refuses the write (a lock, permissions) is `changed` too, marked `blocked`;
 * - paths never leave the root and never pass through a symlink: before each op every ancestor
 *   is lstat'ed as a real dir, and files are opened with O_NOFOLLOW;
 * - a file is replaced only by renaming a complete, fsynced temp (`.strata-tmp-…`) in the same
 *   dir: after a crash a path holds its old bytes or its new ones, never partial ones;
 * - before anything is destroyed (delete, move, a replace), the dir entries created so far are
 *   fsynced, so the content a plan placed elsewhere first survives a power cut (within a batch of
 *   writes, whose entries hold bytes the store has, before its first replace: writes.ts);
 * - every op is journaled (intent fsynced first); recover() removes temps (with `seeds`, it keeps
 *   the temp of an interrupted write whose writer is gone, for the next run to take verified chunks
 *   from, named in the journal until that run so a crash before it never leaves the temp behind for
 *   good: recover.ts) and reports, per interrupted op, whether the old or the new state is on disk,
 *   and per run the ops it applied;
 * - every path written or removed is passed to `suppress` with its final stat, so the watcher
 *   does not echo the engine's own writes as local changes;
 * - a file is the one the plan expects only with the ctime the scan saw (`scannedCtime`, where
 *   known) or this run left: an edit with its mtime set back is a change, never overwritten.
 *
 * Not guarded: a process racing the executor between its lstat and its rename (Node has no
 * openat/renameat2); the window is one syscall and the next scan sees the result.
 */
export { executePlan, type ExecuteOptions, type ExecuteResult, type OpResult } from './execute.js';
export { recover, type Interrupted, type RecoverReport, type RecoveredRun } from './recover.js';
export { clearJournal, type RunLabel } from './journal.js';
export { TOO_LONG_HERE } from './outcome.js';
export { badAncestor } from './check.js';
export type { FetchFn, ScannedCtime, Seed, SuppressFn } from './context.js';
