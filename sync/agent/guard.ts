/**
 * The mass-delete guard (DESIGN §3): a pass that would delete more than half of the files waits
 * for the user. Both directions count — deletes coming from another device onto this disk, and
 * deletes found on this disk going to the layer (a folder emptied by a failing disk or a wrong
 * mount must not empty the layer everywhere).
 *
 * Deletes are counted over the last hour, not per pass: a folder emptied a little at a time (a
 * tool deleting folder by folder, a disk failing slowly) is held once the deletes that already
 * went through and the pass's own make more than half of what was there. A confirmation settles
 * what its direction deleted so far: counting starts again from it. The hour is kept in the
 * folder's state dir (deletes.json), so a restart does not forget it; a missing or damaged record
 * only forgets the hour.
 *
 * The user's other answer to a hold is "restore them": each entry also keeps the paths it deleted
 * and this device's head before them (whose tree still has them), so that the held deletes and
 * those of the hour that went through can be put back (FolderSync.restoreHeld).
 *
 * Deletes must count once, whenever the process dies:
 * - the executor's deletes (remote) are recorded as its apply returns. Until then the executor's
 *   journal is their only record, so it is kept, labelled with the run (DeleteRun), until they
 *   are saved; the folder's recovery records the runs a journal still holds, and the record names
 *   the last run it holds (`run`), so a run recorded before the process died is not counted twice;
 * - the deletes found on this disk (local) count once this device's head no longer has them. So
 *   they are saved before the head is written, with the record as it was before them and the head
 *   they were made from (`undo`): a pass that finds its head still that one takes the record back
 *   (the head was never written; the pass meets those deletes again); one that finds another
 *   keeps it. A confirmation settles its direction the same way.
 *
 * Small folders are exempt below MASS_DELETE_MIN deleted files: deleting 3 of 4 files is a user
 * tidying up, not an accident worth a prompt.
 *
 * A switch of the org layers (an admin's new version, another assignment) deletes the untouched
 * files of the old layers that the new ones dropped (droppedBySwitch). Those are no part of a mass
 * delete, neither counted nor among the files there were: they are the admin's, not the user's,
 * and the old version keeps their bytes in the bucket. Held, the switch would wait on the user
 * with the user's own edits unsynced, and "restore them" would copy them up into the user layer,
 * the user's for good. The user's files are not at stake: a switch never deletes a copy-up or a
 * file of the user layer, and any other delete of the same pass counts as ever.
 *
 * A conflict copy deleted while the file it is a copy of stays is a conflict the user resolved,
 * keeping one version (the UI, `strata resolve`, or by hand, on any machine): a decision,
 * not an accident. Those deletes (resolvedCopies) are not counted either, so they are in no
 * entry of the hour and a restore never brings the copies back as conflicts again. A folder
 * deleted with its conflicts takes the files with their copies: those count, and come back.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { PendingDeletes } from '../../shared/agent-api.js';
import { countFiles, type ApplyPlan, type Node } from '../plan/index.js';
import type { SnapshotId } from '../repo/types.js';
import { listConflicts, MARKER } from './conflicts.js';
import { writeFileAtomic } from '../state/fsutil.js';

export const MASS_DELETE_MIN = 10;
/** How long deletes that went through still count towards a hold. */
export const MASS_DELETE_WINDOW_MS = 60 * 60 * 1000;

/** A hold as a pass finds it: always with its id. */
export type HeldDeletes = Omit<PendingDeletes, 'answer'> & { id: string };
type Direction = HeldDeletes['direction'];

/** What one pass would delete, each direction against the files it deletes from; `paths`: which files. */
export type DeleteCounts = Record<Direction, { files: number; of: number; paths?: string[] }>;

function tooMany(deleted: number, of: number): boolean {
  return deleted >= MASS_DELETE_MIN && deleted * 2 > of;
}

/** Whether a delete of `node` would lose something (keptKey gives a key). */
function isKept(node: Node | undefined): boolean {
  return node?.type === 'file' || node?.type === 'symlink';
}

/** A file's bytes or a symlink's target: what a delete would lose; undefined for other nodes. */
function keptKey(node: Node | undefined): string | undefined {
  if (node?.type === 'file') return `f:${node.content}`;
  if (node?.type === 'symlink') return `l:${node.target}`;
  return undefined;
}

/**
 * The deletes of `plan` that a switch of the org layers makes of their untouched files: the disk
 * holds the version the layers it was laid from (`before`) have there, and the new ones (`after`,
 * undefined for none) have nothing there.
 */
export function droppedBySwitch(plan: ApplyPlan, before: ReadonlyMap<string, Node>, after: ReadonlyMap<string, Node> | undefined): Set<string> {
  const dropped = new Set<string>();
  for (const op of plan.ops) {
    if (op.op !== 'delete' || after?.has(op.path) === true) continue;
    const laid = keptKey(before.get(op.path));
    if (laid !== undefined && laid === keptKey(op.expect)) dropped.add(op.path);
  }
  return dropped;
}

/**
 * The conflict copies among `deleted` whose file `stays` holds: conflicts the user resolved (see the
 * header). Where names fold (`foldCase`), that file may be spelled otherwise than the copy spells it.
 */
export function resolvedCopies(deleted: readonly string[], stays: ReadonlyMap<string, Node>, foldCase = false): Set<string> {
  const copies = new Set(deleted.filter((p) => p.includes(MARKER)));
  if (copies.size === 0) return copies;
  // The whole tree goes in: a copy whose name was cut to fit is told its file by the names beside it.
  const found = listConflicts([...copies, ...stays.keys()], undefined, foldCase);
  return new Set(found.filter((c) => copies.has(c.copy) && stays.has(c.path)).map((c) => c.copy));
}

/**
 * The deletes of `plan` applied to a disk of `localFiles` files (remote), but for those of a switch
 * (`dropped`: droppedBySwitch), and the files of this device's head (`ownTree`) that the disk
 * (`mine`) no longer has, except hidden ones (local); in both, but for the conflict copies
 * resolved while their file stays in `target`, the tree the pass leaves (resolvedCopies; `foldCase`
 * where names fold).
 *
 * A local file that went while a new path of the disk holds its very bytes was moved, not deleted:
 * it counts as a delete no more than a move coming from another device does (the plan moves those).
 * Each new path vouches for one file only, so deleting ten copies of one content still counts ten.
 */
export function countDeletes(plan: ApplyPlan, localFiles: number, ownTree: ReadonlyMap<string, Node>, mine: ReadonlyMap<string, Node>, hidden: (path: string, node: Node) => boolean, dropped: ReadonlySet<string> = new Set(), target: ReadonlyMap<string, Node> = new Map(), foldCase = false): DeleteCounts {
  // Keys are built only where the two trees differ: both hold every path of a big folder.
  const moved = new Map<string, number>();
  for (const [p, node] of mine) {
    if (!isKept(node) || isKept(ownTree.get(p))) continue;
    const key = keptKey(node)!;
    moved.set(key, (moved.get(key) ?? 0) + 1);
  }
  const gone: string[] = [];
  for (const [p, node] of ownTree) {
    if (!isKept(node) || mine.has(p) || hidden(p, node)) continue;
    const key = keptKey(node)!;
    const left = moved.get(key) ?? 0;
    if (left > 0) moved.set(key, left - 1);
    else gone.push(p);
  }
  const deleted = plan.ops.flatMap((op) => (op.op === 'delete' && op.expect.type !== 'dir' && !dropped.has(op.path) ? [op.path] : []));
  const resolved = resolvedCopies([...deleted, ...gone], target, foldCase);
  const remote = deleted.filter((p) => !resolved.has(p));
  const local = gone.filter((p) => !resolved.has(p));
  return { remote: { files: remote.length, of: localFiles - dropped.size, paths: remote }, local: { files: local.length, of: countFiles(ownTree), paths: local } };
}

interface DeleteEntry {
  at: number;
  direction: Direction;
  files: number;
  /** This device's head before the deletes: its tree has the files. */
  from?: SnapshotId;
  paths?: string[];
}

/** How the folder labels an executor run in its journal (ExecuteOptions.run): what recording its deletes needs. */
export interface DeleteRun {
  id: string;
  /** The pass's time: its deletes count from then. */
  at: number;
  /** This device's head before the pass. */
  from?: SnapshotId;
  /** The pass carried out a confirmation of this direction's deletes. */
  settled?: Direction;
  /** Deletes of the run that do not count: a switch of the org layers made them (droppedBySwitch), or they are resolved conflict copies (resolvedCopies). */
  dropped?: string[];
}

/** The record before deletes saved ahead of the head write, and the head they were made from (null: none). */
interface Undo {
  head: SnapshotId | null;
  entries: DeleteEntry[];
}

function validEntry(e: Partial<DeleteEntry> | null): e is DeleteEntry {
  return e !== null && typeof e === 'object' && Number.isSafeInteger(e.at) && (e.direction === 'local' || e.direction === 'remote') && Number.isSafeInteger(e.files) && (e.files ?? 0) > 0;
}

/** Valid entries of a stored list; paths that do not check out only cost the restore of that entry, not its count. */
function validEntries(list: unknown): DeleteEntry[] {
  const withPaths = (e: DeleteEntry): DeleteEntry =>
    typeof e.from === 'string' && Array.isArray(e.paths) && e.paths.every((p) => typeof p === 'string') ? e : { at: e.at, direction: e.direction, files: e.files };
  return Array.isArray(list) ? (list as (Partial<DeleteEntry> | null)[]).filter(validEntry).map(withPaths) : [];
}

function validRun(v: unknown): DeleteRun | undefined {
  const r = v as Partial<DeleteRun> | undefined;
  const ok =
    typeof r?.id === 'string' &&
    Number.isSafeInteger(r.at) &&
    (r.from === undefined || typeof r.from === 'string') &&
    (r.settled === undefined || r.settled === 'local' || r.settled === 'remote') &&
    (r.dropped === undefined || (Array.isArray(r.dropped) && r.dropped.every((p) => typeof p === 'string')));
  return ok ? (r as DeleteRun) : undefined;
}

/** Deletes of the hour that can be put back: the paths, and the snapshot whose tree has them. */
export interface Restorable {
  from: SnapshotId;
  paths: string[];
}

/** Deletes that went through in recent passes, per direction. */
export class DeleteHistory {
  constructor(
    private entries: DeleteEntry[] = [],
    /** The last executor run whose deletes are recorded (DeleteRun.id). */
    private run?: string,
    private undo?: Undo,
  ) {}

  /** The record in `file`; empty when there is none or it is damaged. */
  static async load(file: string): Promise<DeleteHistory> {
    try {
      const v = JSON.parse(await readFile(file, 'utf8')) as { entries?: unknown; run?: unknown; undo?: Partial<Undo> } | null;
      const run = typeof v?.run === 'string' ? v.run : undefined;
      const head = v?.undo?.head;
      const undo = typeof head === 'string' || head === null ? { head, entries: validEntries(v?.undo?.entries) } : undefined;
      return new DeleteHistory(validEntries(v?.entries), run, undo);
    } catch {
      return new DeleteHistory();
    }
  }

  save(file: string): Promise<void> {
    return writeFileAtomic(file, `${JSON.stringify({ version: 1, entries: this.entries, run: this.run, undo: this.undo })}\n`);
  }

  /** Files deleted in `direction` in the window before `now`. */
  recent(direction: Direction, now: number): number {
    this.entries = this.entries.filter((e) => now - e.at < MASS_DELETE_WINDOW_MS);
    return this.entries.reduce((n, e) => (e.direction === direction ? n + e.files : n), 0);
  }

  /** What went through in `direction` in the window before `now` and can be put back. */
  restorable(direction: Direction, now: number): Restorable[] {
    this.recent(direction, now);
    return this.entries.flatMap((e) => (e.direction === direction && e.from !== undefined && e.paths !== undefined ? [{ from: e.from, paths: e.paths }] : []));
  }

  /**
   * A pass went through with these deletes, made from this device's head `from`; a `settled`
   * direction — confirmed, or restored — starts counting again. True if that changed anything.
   */
  record(counts: DeleteCounts, now: number, settled?: Direction, from?: SnapshotId, run?: string): boolean {
    const before = this.entries.length;
    if (settled !== undefined) this.entries = this.entries.filter((e) => e.direction !== settled);
    let changed = this.entries.length !== before;
    for (const direction of ['remote', 'local'] as const) {
      const { files, paths } = counts[direction];
      if (files > 0 && direction !== settled) {
        this.entries.push({ at: now, direction, files, ...(from !== undefined && paths !== undefined ? { from, paths } : {}) });
        changed = true;
      }
    }
    if (changed && run !== undefined) this.run = run;
    return changed;
  }

  /**
   * Records the deletes of a run the executor's journal still held (`label`, as the folder wrote
   * it), unless it is the run recorded last. True if that changed anything.
   */
  recordRun(label: unknown, deleted: string[]): boolean {
    const run = validRun(label);
    if (run === undefined || run.id === this.run) return false;
    const dropped = new Set(run.dropped);
    const counted = deleted.filter((p) => !dropped.has(p));
    return this.record({ remote: { files: counted.length, of: 0, paths: counted }, local: { files: 0, of: 0 } }, run.at, run.settled, run.from, run.id);
  }

  /**
   * record() ahead of the head write that makes these deletes count, made from this device's head
   * `head`: a pass that finds `head` still there takes it back (headFound).
   */
  recordBeforeHead(counts: DeleteCounts, now: number, settled: Direction | undefined, head: SnapshotId | undefined): boolean {
    const before = [...this.entries];
    if (!this.record(counts, now, settled, head)) return false;
    this.undo = { head: head ?? null, entries: before };
    return true;
  }

  /** The head was written: what was recorded before it stands. True if that changed anything. */
  headWritten(): boolean {
    const had = this.undo !== undefined;
    this.undo = undefined;
    return had;
  }

  /**
   * This device's head is `head` at the start of a pass: deletes recorded before a head write that
   * never happened (the head is still theirs) are taken back. True if that changed anything.
   */
  headFound(head: SnapshotId | undefined): boolean {
    if (this.undo === undefined) return false;
    if (this.undo.head === (head ?? null)) this.entries = this.undo.entries;
    this.undo = undefined;
    return true;
  }
}

/**
 * The deletes to hold, if any: the pass's own with those of its direction that went through in
 * the window (`history`), against the files there were before all of them.
 */
export function massDelete(counts: DeleteCounts, history: DeleteHistory, now: number): HeldDeletes | undefined {
  for (const direction of ['remote', 'local'] as const) {
    const pass = counts[direction];
    if (pass.files === 0) continue;
    const earlier = history.recent(direction, now);
    if (tooMany(pass.files + earlier, pass.of + earlier)) return { direction, files: pass.files + earlier, of: pass.of + earlier, id: holdId(direction, pass.paths ?? []) };
  }
  return undefined;
}

/**
 * A hold's identity (PendingDeletes.id): its direction and the paths its pass deletes, in any
 * order. The same files deleted again are the same hold; other files, or more of them, are not.
 */
export function holdId(direction: Direction, paths: readonly string[]): string {
  const h = createHash('sha256').update(direction);
  for (const p of [...paths].sort()) h.update(`\0${p}`);
  return h.digest('hex').slice(0, 32);
}
