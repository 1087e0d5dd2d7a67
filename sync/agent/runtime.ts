/**
 * One folder inside a running agent: its SyncFolder, its watcher, when its next pass is due, and
 * the status the tray shows for it. The agent's loop (agent.ts) decides when passes run; this
 * file turns a pass's outcome into status.
 */
import { createHash } from 'node:crypto';
import { lstat, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApiError, ConflictInfo, FolderStatus, KeepSide, SyncState, VersionInfo } from '../../shared/agent-api.js';
import type { HeldDeletes } from './guard.js';
import { asReported, describeError, isStrataError, StrataError } from '../errors.js';
import type { Repository } from '../repo/index.js';
import type { FileChunker } from '../snapshot/index.js';
import { openFileIndex, type FileIndex } from '../state/index.js';
import { LayerWatcher, makeExcluder, type EventQueue, type Excluder, type TreeWatch } from '../watch/index.js';
import { listConflicts } from './conflicts.js';
import { keepBoth, type FoldedNames } from './keep-both.js';
import { includeRules } from './include.js';
import type { BlobId } from '../repo/types.js';
import { SyncFolder, type FolderOptions, type PassPhase, type PassResult } from './folder.js';
import { BASE_FILE } from './base.js';
import { noRoot } from './rescan.js';
import { ProgressMeter, PushPacer } from './progress.js';
import { filesIn, LAST_SYNC_EVERY_MS, readLastSync, writeLastSync } from './known.js';
import { layerPath, makeDirsDurably } from '../fsutil.js';
import { TOO_LONG } from '../snapshot/listing.js';
import { badAncestor, TOO_LONG_HERE } from '../exec/index.js';
import type { ScanResult } from './local.js';
import { Unsynced } from './unsynced.js';

export interface FolderSpec {
  /** Absolute path of the synced directory. */
  root: string;
  layer: string;
  /** Extra exclusion rules (gitignore syntax) on top of the defaults. */
  exclude?: readonly string[];
  /** Only these folders under the root belong to the layer (include.ts); default: all of it. */
  include?: readonly string[];
  /** Root trees of the org layers laid under this one at sign-in, lowest first (FolderOptions.lower). */
  lower?: readonly BlobId[];
  /** The org layers the disk was laid from while a switch to `lower` is in progress (FolderOptions.lowerBefore). */
  lowerBefore?: readonly BlobId[];
  /** The snapshot keys of those roots (FolderOptions.rootKeys). */
  rootKeys?: ReadonlyMap<BlobId, string>;
  /** Fold case whatever the machine (the org's policies.caseInsensitive); unset: as the agent is told, or the platform. */
  caseInsensitive?: boolean;
}

/** The excluder of a folder: the defaults, its include list, then its own rules. */
export function folderExcluder(spec: FolderSpec): Excluder {
  return makeExcluder([...includeRules(spec.include ?? []), ...(spec.exclude ?? [])]);
}

export interface RuntimeOptions {
  stateDir: string;
  device: string;
  chunker?: FileChunker;
  now: () => Date;
  watch: boolean;
  debounceMs?: number;
  stabilityMs?: number;
  watchQueue?: EventQueue;
  watchTree?: TreeWatch;
  caseInsensitive?: boolean;
  /** Something changed that may make a pass due. */
  wake: () => void;
  /** The user paused sync (the agent's state). */
  paused: () => boolean;
  /** The folder's status changed. */
  changed: () => void;
}

/** Store errors that mean "cannot reach the bucket now", not "the bucket is wrong". */
export function isOffline(err: unknown): boolean {
  if (isStrataError(err, 'E_TRANSIENT')) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code);
}

/** A folder's failure for its status: the code, what and where apart (as the control endpoint answers one), each said once where shown. */
export function apiError(err: unknown): ApiError {
  // A failed system call (the disk full, say) is the user's to act on; only a bug is E_INTERNAL.
  const e = asReported(err);
  const out: ApiError = { code: e?.code ?? 'E_INTERNAL', message: (e?.message ?? describeError(err)).split('\n')[0]! };
  if (e?.path !== undefined) out.path = e.path;
  if (e?.key !== undefined) out.key = e.key;
  return out;
}

/** `<stateDir>/folders/<hash of layer and root>`: one folder's journals. */
export function folderStateDir(stateDir: string, spec: FolderSpec): string {
  const id = createHash('sha256').update(`${spec.layer}\0${spec.root}`).digest('hex').slice(0, 16);
  return join(stateDir, 'folders', id);
}

/**
 * `<stateDir>/indexes`: where the sign-in's lay and the agent keep the repository's index objects
 * (RepositoryOptions.keptIndexes), beside the folders' state, not in each: the index is the whole
 * repository's, and every folder of a state dir reads the same one.
 */
export function indexesDir(stateDir: string): string {
  return join(stateDir, 'indexes');
}

/** A folder's state files (FolderOptions), in its state dir (folderStateDir). */
export function folderFiles(dir: string): Required<Pick<FolderOptions, 'execJournal' | 'pendingFile' | 'settledFile' | 'deletesFile' | 'answerFile' | 'baseFile' | 'treeDir'>> {
  return {
    execJournal: join(dir, 'exec.journal'),
    pendingFile: join(dir, 'pending.json'),
    settledFile: join(dir, 'settled.json'),
    deletesFile: join(dir, 'deletes.json'),
    answerFile: join(dir, 'held-answer.json'),
    baseFile: join(dir, BASE_FILE),
    treeDir: join(dir, 'trees'),
  };
}

export class FolderRuntime {
  status: FolderStatus;
  /** A pass should run as soon as the agent can. */
  due = true;
  nextPoll = 0;
  /** When the next pass rescans the whole folder, though the watcher reported nothing there. */
  nextRescan = 0;
  /** syncNow asked for a pass of the whole folder (rescan "all"): the next pass to start scans it all. */
  rescanAsked = false;
  /** Passes in a row that failed or ended in 'retry' (the disk changed under them). */
  failures = 0;
  /**
   * The root was seen missing since the pass in flight began (the watcher, or that pass): a pass
   * that began before, and ends in sync, ends with the folder in error all the same (record).
   */
  rootMissing = false;
  /** The state of the failure that status.error says. */
  private failedAs: 'error' | 'offline' = 'error';
  /** The watcher cannot see every folder (a system limit): each pass rescans the whole root. */
  watchIncomplete = false;
  /** open() succeeded: passes may run (ready). */
  opened = false;
  /** A path under the root too long to read (ENAMETOOLONG), as the last pass found; its status warning says so. */
  private tooLong: string | undefined;
  /** What the folder holds that the layer cannot (a name it refuses, a FIFO, an unreadable entry); its status warning says so. */
  private readonly unsynced: Unsynced;
  /**
   * The SyncFolder, from open() on: none before (a paused start, an offline one), and one that a
   * failed open() made stays until the next open() makes another.
   */
  folder: SyncFolder | undefined;
  private index: FileIndex | undefined;
  /** The last sync time as saved in the state dir (known.ts). */
  private savedSync: string | undefined;
  private watcher: LayerWatcher | undefined;
  private closed = false;
  private readonly meter: ProgressMeter;
  private readonly pacer: PushPacer;
  readonly exclude: Excluder;
  /** The org layers, as given at start or by the last switchLower (the folder takes them when it opens). */
  private lower: { lower?: readonly BlobId[]; lowerBefore?: readonly BlobId[]; rootKeys?: ReadonlyMap<BlobId, string> };
  private switchWaiters: Array<() => void> = [];

  constructor(
    readonly spec: FolderSpec,
    private readonly opts: RuntimeOptions,
  ) {
    this.status = { root: spec.root, layer: spec.layer, state: 'idle', conflicts: [], files: 0, syncedPasses: 0, passes: 0 };
    this.meter = new ProgressMeter(() => opts.now().getTime());
    this.pacer = new PushPacer(() => opts.changed());
    this.exclude = folderExcluder(spec);
    this.unsynced = new Unsynced(spec.root);
    this.lower = { lower: spec.lower, lowerBefore: spec.lowerBefore, ...(spec.rootKeys ? { rootKeys: spec.rootKeys } : {}) };
  }

  /** The folder once open() has succeeded: passes run on it. */
  get ready(): SyncFolder | undefined {
    return this.opened ? this.folder : undefined;
  }

  /** SyncFolder.switchLower, before or after the folder opened; the next pass makes the switch. */
  switchLower(lower: readonly BlobId[], before: readonly BlobId[], rootKeys: ReadonlyMap<BlobId, string> = new Map()): void {
    this.lower = { lower, lowerBefore: before, rootKeys: new Map([...(this.lower.rootKeys ?? []), ...rootKeys]) };
    this.folder?.switchLower(lower, before, rootKeys);
    this.due = true;
  }

  /** Resolves once no switch of the org layers is waiting for a synced pass (at once when none is). */
  lowerSwitched(): Promise<void> {
    if (!this.switching) return Promise.resolve();
    return new Promise((resolve) => this.switchWaiters.push(resolve));
  }

  private get switching(): boolean {
    return this.folder?.switching ?? this.lower.lowerBefore !== undefined;
  }

  private get dir(): string {
    return folderStateDir(this.opts.stateDir, this.spec);
  }

  private async openIndex(): Promise<FileIndex> {
    if (this.index === undefined) {
      await makeDirsDurably(this.dir, 0o700);
      this.index = await openFileIndex(this.dir, 'statcache');
    }
    return this.index;
  }

  /**
   * Shows what the state dir knows (known.ts), before the store is opened: a paused or offline
   * start shows the folder as it was last synced, not as empty. A failure here is open()'s to meet.
   */
  async load(): Promise<void> {
    try {
      const index = await this.openIndex();
      this.status.files = filesIn(index);
      this.status.conflicts = listConflicts([...index.entries()].map(([p]) => p), undefined, this.caseInsensitive);
      this.savedSync = await readLastSync(this.dir);
      if (this.savedSync !== undefined) this.status.lastSync = this.savedSync;
    } catch {
      // open() opens the stat cache again and reports what fails.
    }
  }

  /**
   * Saves the last sync time for the next start (load): when `now` (a pass wrote something, a
   * pause, a stop), otherwise at most every LAST_SYNC_EVERY_MS.
   */
  async saveLastSync(now: boolean): Promise<void> {
    const at = this.status.lastSync;
    if (at === undefined || at === this.savedSync) return;
    if (!now && this.savedSync !== undefined && Date.parse(at) - Date.parse(this.savedSync) < LAST_SYNC_EVERY_MS) return;
    await writeLastSync(this.dir, at);
    this.savedSync = at;
  }

  async open(repo: Repository): Promise<void> {
    const index = await this.openIndex();
    const folder = new SyncFolder({
      repo,
      root: this.spec.root,
      layer: this.spec.layer,
      device: this.opts.device,
      index,
      ...folderFiles(this.dir),
      exclude: this.exclude,
      ...this.lower,
      chunker: this.opts.chunker,
      now: this.opts.now,
      caseInsensitive: this.caseInsensitive,
      suppress: (p, st) => this.watcher?.suppress(p, st),
      onPhase: (p) => this.phase(p),
    });
    this.folder = folder;
    await folder.recover();
    this.status.files = filesIn(index);
    this.status.conflicts = this.conflicts();
    // The start-up rescan must begin after the watcher's initial scan: a file created in between
    // would be neither reported (initial paths never are) nor scanned.
    if (this.opts.watch) await this.startWatcher();
    this.opened = true;
  }

  /** Whether this folder's names fold (the org's policy, or as the agent was told: the platform). */
  private get caseInsensitive(): boolean {
    return this.spec.caseInsensitive ?? this.opts.caseInsensitive ?? false;
  }

  /** Each pass must rescan the whole root: a watcher short of some folders, or a path too long that a rescan must find gone. */
  get rescanAll(): boolean {
    return this.watchIncomplete || this.tooLong !== undefined;
  }

  /** Takes in what a pass's scan could not sync (unsynced.ts), before record() says it. */
  async noteUnsynced(scan: ScanResult): Promise<void> {
    const local = this.folder?.local;
    // What the executor could not write (a lock) is this machine's to catch up, not the layer's to miss.
    const skipped = new Map([...scan.skipped].filter(([p]) => scan.unwritten?.has(p) !== true));
    await this.unsynced.update(skipped, (p) => local?.get(p) !== undefined);
  }

  /**
   * Says in the status (E_PATH_TOO_LONG) the first path a pass's scan found too long to read, or
   * that the folder leaves alone as too long to write (TOO_LONG_HERE: another machine synced it
   * from a higher root), and ends that once a pass finds none (each pass rescans everything
   * meanwhile for one too long to read: rescanAll). A warning of the watcher's comes first: it
   * stands until the watcher restarts. With none of those, the entries the layer cannot hold
   * (noteNotSynced).
   */
  private notePathTooLong(scan: ScanResult): void {
    const read = [...scan.skipped].find(([, why]) => why === TOO_LONG);
    // The folder's own list too: a pass that tries such a path again (its scan no longer says
    // it is left alone) finds it too long again.
    const found = read ?? [...scan.skipped, ...(this.folder?.leftAlone ?? [])].find(([, why]) => why.startsWith(TOO_LONG_HERE));
    // Only what is there to read needs the rescans: a path not laid is tried again by the pass.
    this.tooLong = read === undefined ? undefined : layerPath(this.spec.root, read[0]);
    if (this.status.warning !== undefined && this.status.warning.code !== 'E_PATH_TOO_LONG' && this.status.warning.code !== 'E_NOT_SYNCED') return;
    if (found === undefined) {
      this.noteNotSynced();
      return;
    }
    // While a path cannot be read, files gone elsewhere in the folder are not deleted (heldDeletes): say so.
    const message = read === undefined ? found[1] : `${found[1]}; files gone elsewhere in the folder stay in the layer until every path can be read`;
    this.status.warning = apiError(new StrataError('E_PATH_TOO_LONG', message, { path: layerPath(this.spec.root, found[0]) }));
  }

  /** Says in the status (E_NOT_SYNCED) the first entry the layer cannot hold and how many there are, or ends that when none is left. */
  private noteNotSynced(): void {
    const first = this.unsynced.first;
    if (first === undefined) {
      delete this.status.warning;
      return;
    }
    // The entry is named by the error's path alone: every reader shows that as a name (isolated on
    // the page, escaped by the CLI), where a name quoted in the words could reorder them (U+202E).
    const what = first.count === 1 ? 'an entry of the folder cannot be synced and stays on this machine only' : `${first.count} entries of the folder cannot be synced and stay on this machine only; one of them`;
    const message = `${what}: ${first.why}; rename it (or move it out of the folder) to sync it`;
    this.status.warning = apiError(new StrataError('E_NOT_SYNCED', message, { path: layerPath(this.spec.root, first.path) }));
  }

  private startWatcher(): Promise<void> {
    if (this.closed) return Promise.resolve();
    // open() runs again after a failed start (this folder's or another's): one watcher, never two.
    void this.watcher?.close();
    this.watchIncomplete = false;
    delete this.status.warning;
    const watcher = new LayerWatcher(this.spec.root, {
      exclude: this.exclude,
      debounceMs: this.opts.debounceMs,
      stabilityMs: this.opts.stabilityMs,
      queue: this.opts.watchQueue,
      treeWatch: this.opts.watchTree,
      onDirty: (paths) => {
        this.markDirty(paths);
        this.due = true;
        this.opts.wake();
      },
      // The OS may have dropped events (its queue overflowed): only a rescan of everything finds them.
      onOverflow: () => {
        this.status.overflowRescans = (this.status.overflowRescans ?? 0) + 1;
        this.folder?.markAllDirty();
        this.due = true;
        this.opts.wake();
        this.opts.changed();
      },
      onIncomplete: (err) => {
        this.watchIncomplete = true;
        this.status.warning = apiError(err);
        this.opts.changed();
      },
      onRootMissing: () => {
        this.rootMissing = true;
        this.setError('error', noRoot(this.spec.root));
      },
      onRootRestored: () => {
        void watcher.close();
        const back = (): void => {
          this.rootMissing = false;
          // Missing no longer: while paused, nothing else would say so until a pass ends.
          if (this.status.error?.code === 'E_NO_ROOT') {
            delete this.status.error;
            this.setState(this.opts.paused() ? 'paused' : 'idle');
          }
          this.folder?.markAllDirty();
          this.due = true;
          this.opts.wake();
        };
        void this.startWatcher().then(back, (err: unknown) => {
          // Back, but no watcher can take it (a folder past PATH_MAX, say): each poll rescans it
          // whole, as past the watch limit, and its status says why.
          this.watchIncomplete = true;
          this.status.warning = apiError(err);
          back();
        });
      },
    });
    this.watcher = watcher;
    return watcher.ready;
  }

  private phase(p: PassPhase): void {
    // Each step counts its own bytes from 0: the last step's samples would read as a stall.
    const step = p.state !== this.status.state;
    if (step) this.meter.reset();
    this.status.state = p.state;
    this.status.progress = this.meter.update(p);
    // A new step is shown at once; the figures within one at the pacer's pace.
    if (step) this.pacer.cancel();
    this.pacer.report();
  }

  /**
   * Progress figures belong to the step that reports them (phase): any other state shows none, so
   * a failed pass's figures never stand under 'offline' or 'error', nor under the next 'scanning'.
   */
  setState(state: SyncState): void {
    this.status.state = state;
    delete this.status.progress;
    this.meter.reset();
    this.pacer.cancel();
    this.opts.changed();
  }

  /** A pass begins (or an attempt to open the bucket or the folder for one): counted before any status it changes is pushed. */
  begin(): void {
    this.status.passes++;
  }

  setError(state: 'error' | 'offline', err: unknown): void {
    this.status.error = apiError(err);
    this.failedAs = state;
    this.setState(state);
  }

  /** Out of a pause: the state the last pass's failure left while its error stands (until a pass ends), else idle. */
  unpause(): void {
    if (this.status.state === 'paused') this.setState(this.status.error === undefined ? 'idle' : this.failedAs);
  }

  /**
   * Ends a conflict (Agent.resolveConflict): keeps the name's version and deletes the copy
   * ("name"), renames the copy over the name (one atomic rename: "copy"), or renames the copy to a
   * free ordinary name beside the file, replacing nothing ("both": keep-both.ts); returns that
   * name's layer path for "both". Files and symlinks only: a folder's conflict is for the user's
   * file manager. The paths come from this folder's own scan, and are checked to be plain, each
   * folder on their way a real folder still (never a link out of the root). The versions kept
   * must still be on the disk (a scan may not have seen one deleted or moved by hand yet):
   * otherwise nothing changes, it fails with E_VERSION_GONE (the user chose what is not there;
   * not E_CONFLICT_GONE, which says a pass already ended the conflict), and the next pass, due at
   * once, updates the list. `folded`: the folders' names keepBoth read, kept for the next call.
   */
  async resolveConflict(c: ConflictInfo, keep: KeepSide, folded?: FoldedNames): Promise<string | undefined> {
    const abs = (rel: string): string => {
      if (rel.split('/').some((s) => s === '' || s === '.' || s === '..')) throw new StrataError('E_USAGE', 'not a plain layer path', { path: rel });
      return layerPath(this.spec.root, rel);
    };
    const [name, copy] = [abs(c.path), abs(c.copy)];
    // A folder on the way may have become a link (or a file) since the scan: rm and rename would
    // follow it and act outside the root.
    for (const rel of [c.path, c.copy]) {
      const bad = await badAncestor(this.spec.root, rel);
      if (bad === undefined) continue;
      this.markDirty([bad]);
      this.due = true;
      this.opts.changed();
      throw new StrataError('E_VERSION_GONE', `${bad} is no longer a folder on the disk (replaced by a link or a file since the last scan); nothing was changed`, { path: rel });
    }
    for (const p of keep === 'name' ? [copy] : [name, copy]) {
      const st = await lstat(p).catch(() => undefined);
      if (st?.isDirectory()) throw new StrataError('E_USAGE', 'a folder conflict is resolved by hand: move or delete one of the folders', { path: p });
    }
    const kept = keep === 'both' ? [c.path, c.copy] : [keep === 'copy' ? c.copy : c.path];
    for (const rel of kept) {
      if ((await lstat(abs(rel)).catch(() => undefined)) !== undefined) continue;
      this.markDirty([c.path, c.copy]);
      if (rel === c.copy) this.status.conflicts = this.status.conflicts.filter((x) => x.copy !== c.copy);
      this.due = true;
      this.opts.changed();
      const what = rel === c.copy ? 'the conflict copy' : 'the file';
      throw new StrataError('E_VERSION_GONE', `${what} is no longer on the disk (deleted or moved since the last scan); nothing was changed`, { path: rel });
    }
    let besideAs: string | undefined;
    if (keep === 'name') await rm(copy, { force: true });
    else if (keep === 'copy') await rename(copy, name);
    else besideAs = await keepBoth(this.spec.root, c, folded);
    this.markDirty([c.path, c.copy, ...(besideAs === undefined ? [] : [besideAs])]);
    this.status.conflicts = this.status.conflicts.filter((x) => x.copy !== c.copy);
    this.due = true;
    this.opts.changed();
    return besideAs;
  }

  /**
   * The next pass must rescan `paths`. Before the folder is open (a paused start, an open that
   * failed and waits to be tried again) there is no SyncFolder yet, and none is needed: a folder's
   * first pass scans it whole.
   */
  private markDirty(paths: readonly string[]): void {
    this.folder?.markDirty(paths);
  }

  /**
   * Gives the held pass the user's answer (Agent.confirmDeletes, restoreDeletes) and says so in
   * the status at once; the pass that acts on it is due, and its outcome (record) ends the hold.
   */
  async answerHeld(pending: HeldDeletes, answer: 'confirm' | 'restore'): Promise<void> {
    const { direction, files, of, id } = pending;
    const held = { direction, files, of, id };
    // A hold is a pass's: before the folder is open, none waits.
    const folder = this.folder;
    if (folder === undefined) throw new StrataError('E_NOT_HELD', 'no pass of this folder is waiting for a confirmation', { path: this.spec.root });
    const saved = answer === 'confirm' ? folder.approve(held) : folder.restoreHeld(held);
    this.status.pendingDeletes = { ...held, answer };
    delete this.status.notCarried;
    this.due = true;
    this.opts.changed();
    await saved;
  }

  /** The folder's conflicts, each version as the last scan saw it; before it is open, as the state dir lists them (load). */
  private conflicts(): ConflictInfo[] {
    const folder = this.folder;
    if (folder === undefined) return this.status.conflicts;
    return listConflicts(folder.local.paths(), (p) => {
      const e = folder.local.get(p);
      if (e === undefined) return undefined;
      const v: VersionInfo = { kind: e.type };
      if (Math.abs(e.mtimeMs) <= 8.64e15) v.mtime = new Date(e.mtimeMs).toISOString();
      if (e.type === 'file') v.size = e.size;
      return v;
    }, this.caseInsensitive);
  }

  /** Takes in a pass's outcome; returns the conflicts that are new since the last status. */
  record(r: PassResult): ConflictInfo[] {
    this.meter.reset();
    this.notePathTooLong(r.scan);
    if (!this.rootMissing) delete this.status.error;
    // A retry is no success: the agent runs one again at once only a few times in a row (agent.ts).
    if (r.status !== 'retry') this.failures = 0;
    // Nor is it an outcome: a hold, answered or not, stands until a pass that ends holds it again
    // or ends it, and what the last pass carried out stays said.
    if (r.status === 'retry') return [];
    delete this.status.answered;
    if (r.status === 'held') {
      // A pass that began before the answer holds what it answered: the next one acts on it.
      const answer = this.folder?.answerFor(r.held);
      this.status.pendingDeletes = answer === undefined ? r.held : { ...r.held, answer };
      delete this.status.notCarried;
      // The folder's files as the hold counts them, and as a restart shows them (the scan's stat cache).
      this.status.files = r.files;
      this.ended();
      return [];
    }
    delete this.status.pendingDeletes;
    if (r.answered !== undefined) this.status.answered = r.answered;
    if (r.notCarried !== undefined) this.status.notCarried = r.notCarried;
    if (!this.switching) {
      this.lower.lowerBefore = undefined;
      for (const resolve of this.switchWaiters.splice(0)) resolve();
    }
    this.status.lastSync = this.opts.now().toISOString();
    this.status.syncedPasses++;
    this.status.lastSyncedPass = this.status.passes;
    this.status.files = r.files;
    const before = new Set(this.status.conflicts.map((c) => c.copy));
    this.status.conflicts = this.conflicts();
    this.ended();
    return this.status.conflicts.filter((c) => !before.has(c.copy));
  }

  /** The state a pass leaves as it ends: idle, or in error while its root is missing. */
  ended(): void {
    this.setState(this.rootMissing ? 'error' : 'idle');
  }

  async close(): Promise<void> {
    this.closed = true;
    this.pacer.cancel();
    await this.watcher?.close();
    this.watcher = undefined;
    await this.index?.close();
    this.index = undefined;
  }
}
