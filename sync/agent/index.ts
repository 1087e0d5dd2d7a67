/**
 * The agent: live two-way sync of folders with layers (DESIGN §3), and the service that runs it
 * and answers the Agent API (shared/agent-api.ts).
 *
 *   folder.ts    SyncFolder.pass(): scan → merge every other device's head → apply → snapshot, head
 *                (rescan.ts step 1, mine.ts the merge's local side, apply.ts step 3, commit.ts)
 *   local.ts     the local tree and stat cache (the `statcache` journal), incremental rescans
 *                (walk.ts: the scan itself)
 *   remote.ts    merging heads against their merge base (history.ts: the snapshot graph)
 *   trees.ts     Merkle trees ⇄ flat trees; fetch.ts: file bytes for the executor, read ahead
 *   applied.ts   what the executor wrote, back into the local tree (no re-hash, no echo)
 *   guard.ts     the mass-delete guard
 *   agent.ts     the service: when passes run, pause/resume, status and events
 *   once.ts      one reconcile without the service (`strata sync --once`)
 *
 * The sync model: each device writes only its own head. A pass merges each other device's new
 * head three-way — base = the newest common ancestor in the snapshot graph, mine = the disk as
 * scanned, theirs = that head — applies the result to the disk, and writes a snapshot whose
 * parents are this device's previous snapshot and the heads it merged. Devices that merged each
 * other reach equal trees, hence equal root ids, and then stop writing.
 *
 * Must hold (each module states its own part):
 * - no version of a file is lost: merges keep both sides of a conflict, a change beats a delete,
 *   and the executor never replaces what it did not expect;
 * - a crash at any point is recoverable: the executor's journal, the stat cache's journal and the
 *   bucket's write order each leave a state the next pass picks up from;
 * - paused means no store requests at all.
 */
export { Agent, type AgentOptions } from './agent.js';
export { SyncFolder, type FolderOptions, type PassPhase, type PassResult } from './folder.js';
export { syncOnce, type OnceOptions } from './once.js';
export { folderExcluder, folderFiles, folderStateDir, indexesDir, isOffline, type FolderSpec } from './runtime.js';
export { readBase, readRecordedBase, writeBase, removeBase, EMPTY_BASE, type Base, type BaseKind, type BasePaths } from './base.js';
export { includeRules } from './include.js';
export { sameStat } from './walk.js';
export { parseConflictPath, listConflicts } from './conflicts.js';
export { MASS_DELETE_MIN } from './guard.js';
