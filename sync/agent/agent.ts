/**
 * The agent service: runs the passes of every synced folder, and answers the Agent API
 * (shared/agent-api.ts) for the tray, the UI and the CLI.
 *
 * When a folder's pass runs: at start-up (a full rescan), when its watcher reports dirty paths or
 * watchBeside a change beside the files (a setting), every poll interval (other devices' heads), on
 * syncNow, and again at once after a pass that found the disk changed under it. Passes run one at a time.
 * A pass rescans what the watcher reported, the whole folder after the watcher saw a burst that may
 * have overflowed inotify's queue (events dropped unsaid) or Windows's change buffer, and the whole folder every `rescanMs`
 * all the same: a watcher may lose events without any sign, and they must not be lost for good.
 *
 * Must hold:
 * - paused means zero store requests: the store is not even opened until the agent is unpaused,
 *   pause() returns only once the running pass has stopped, its requests in flight aborted (a
 *   stalled one, a large transfer: store/abort.ts), not waited for, and the paused flag is durable
 *   (sync/state), so a restart stays paused; the watcher keeps recording dirty paths meanwhile;
 * - before the store is opened (paused, offline) each folder's status shows what its state dir
 *   knows: its files, conflicts and last sync (known.ts), never an empty folder;
 * - a folder whose root is missing runs no pass (status error E_NO_ROOT) until the root is back;
 * - a store that cannot be reached is 'offline', retried with a backoff, never an error that
 *   stops the agent; an error in one folder never stops the others.
 *
 * Beside it: agent-options.ts what the agent is given (AgentOptions, re-exported here),
 * agent-conflicts.ts the conflict commands it runs between passes.
 */
import type { AgentApi, AgentEvent, AgentStatus, CommandArg, CommandName, CommandResult, ConflictInfo, ResolvedConflict, ResolvedConflicts } from '../../shared/agent-api.js';
import { overallState } from '../../shared/agent-api.js';
import { StrataError } from '../errors.js';
import { caseInsensitiveByDefault } from '../plan/index.js';
import { openRepository, type Repository } from '../repo/index.js';
import type { BlobId } from '../repo/types.js';
import { withSignal } from '../store/abort.js';
import { openAgentState, type AgentState } from '../state/index.js';
import type { SyncFolder } from './folder.js';
import { resolveConflict, resolveConflicts, type ConflictHost } from './agent-conflicts.js';
import type { AgentOptions } from './agent-options.js';
import { FolderRuntime, indexesDir, isOffline } from './runtime.js';

export type { AgentOptions } from './agent-options.js';

const MAX_BACKOFF_MS = 5 * 60_000;

/** Passes in a row that found the disk changed under them before waiting for the next poll. */
const MAX_RETRIES = 5;

export class Agent implements AgentApi {
  private readonly folders: FolderRuntime[];
  private readonly listeners = new Set<(e: AgentEvent) => void>();
  private readonly now: () => Date;
  private repo: Repository | undefined;
  private running: { abort: AbortController; done: Promise<void> } | undefined;
  private wakeUp: (() => void) | undefined;
  private stopped = false;
  private stopping: Promise<void> | undefined;
  private loop: Promise<void> | undefined;
  private passes = 0;
  /** The agent-wide last sync, when noteSynced did not save it yet (at most once a minute): a pause or a stop saves it. */
  private unsavedSync: string | undefined;
  private passWaiters: Array<{ after: number; resolve: () => void }> = [];
  /** The last of the changes to the disk that no pass may overlap (resolveConflict): the loop starts no pass before it ends. */
  private outside: Promise<void> = Promise.resolve();
  /** quietly() runs (the statuses they change are pushed as they end), and whether one was held back. */
  private hush = 0;
  private hushed = false;
  /** Stop the watches of watchBeside. */
  private readonly unwatch: (() => Promise<void>)[] = [];

  private constructor(
    private readonly opts: AgentOptions,
    private readonly state: AgentState,
  ) {
    this.now = opts.now ?? (() => new Date());
    this.folders = opts.folders.map(
      (spec) =>
        new FolderRuntime(spec, {
          stateDir: opts.stateDir,
          device: state.deviceId,
          chunker: opts.chunker,
          now: this.now,
          watch: opts.watch ?? true,
          debounceMs: opts.debounceMs,
          stabilityMs: opts.stabilityMs,
          watchQueue: opts.watchQueue,
          watchTree: opts.watchTree,
          caseInsensitive: opts.caseInsensitive ?? caseInsensitiveByDefault(),
          wake: () => this.wake(),
          paused: () => this.paused,
          changed: () => this.emitStatus(),
        }),
    );
  }

  static async start(opts: AgentOptions): Promise<Agent> {
    const state = await openAgentState(opts.stateDir, { newDeviceId: opts.newDeviceId });
    const agent = new Agent(opts, state);
    // What the state dir knows is shown before the store is opened (paused: not until resume).
    for (const f of agent.folders) await f.load();
    agent.loop = agent.run();
    for (const f of agent.folders) agent.watchBeside(f);
    return agent;
  }

  get deviceId(): string {
    return this.state.deviceId;
  }

  get paused(): boolean {
    return this.state.get().paused;
  }

  /** Completed passes so far (tests wait on it). */
  get passCount(): number {
    return this.passes;
  }

  status(): AgentStatus {
    const cfg = this.state.get();
    const folders = this.folders.map((f) => structuredClone(f.status));
    const out: AgentStatus = { deviceId: this.state.deviceId, paused: cfg.paused, state: overallState(folders.map((f) => f.state), cfg.paused), folders };
    // A sync not saved yet (noteSynced saves at most once a minute) is the last one all the same.
    const lastSync = this.unsavedSync ?? cfg.lastSync;
    if (lastSync !== undefined) out.lastSync = lastSync;
    return out;
  }

  async call<C extends CommandName>(command: C, arg: CommandArg<C>): Promise<CommandResult<C>> {
    const result = await this.dispatch(command, arg);
    return result as CommandResult<C>;
  }

  private async dispatch(command: CommandName, arg: unknown): Promise<unknown> {
    switch (command) {
      case 'status':
        return this.status();
      case 'pause':
        return this.pause();
      case 'resume':
        return this.resume();
      case 'syncNow':
        return this.syncNow(arg as CommandArg<'syncNow'>);
      case 'conflicts':
        return this.folders.flatMap((f) => f.status.conflicts);
      case 'confirmDeletes':
      case 'restoreDeletes': {
        const { root, id } = arg as CommandArg<'confirmDeletes'>;
        return command === 'confirmDeletes' ? this.confirmDeletes(root, id) : this.restoreDeletes(root, id);
      }
      case 'resolveConflict': {
        const { root, copy, keep } = arg as CommandArg<'resolveConflict'>;
        return this.resolveConflict(root, copy, keep);
      }
      case 'resolveConflicts': {
        const { root, keep, copies } = arg as CommandArg<'resolveConflicts'>;
        return this.resolveConflicts(root, keep, copies);
      }
      default:
        throw new StrataError('E_USAGE', `unknown command ${JSON.stringify(command)}`);
    }
  }

  subscribe(listener: (event: AgentEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async pause(): Promise<AgentStatus> {
    await this.state.update((d) => {
      d.paused = true;
    });
    const r = this.running;
    r?.abort.abort(new StrataError('E_PAUSED', 'sync was paused'));
    await r?.done;
    // A resume that came meanwhile has the last word: the agent runs on, its folders with it.
    if (!this.paused) return this.status();
    for (const f of this.folders) {
      f.setState('paused');
      await f.saveLastSync(true);
    }
    await this.saveLastSync();
    return this.status();
  }

  async resume(): Promise<AgentStatus> {
    await this.state.update((d) => {
      d.paused = false;
    });
    for (const f of this.folders) {
      f.due = true;
      f.unpause();
    }
    this.wake();
    return this.status();
  }

  /** A pass of every folder now; `rescan` "all": of the whole folder (AgentCommands.syncNow). */
  syncNow(arg: CommandArg<'syncNow'> = {}): AgentStatus {
    if (arg.rescan !== undefined && arg.rescan !== 'all') throw new StrataError('E_USAGE', `rescan must be "all", not ${JSON.stringify(arg.rescan)}`);
    for (const f of this.folders) {
      f.due = true;
      f.failures = 0;
      if (arg.rescan === 'all') f.rescanAsked = true;
    }
    this.wake();
    return this.status();
  }

  confirmDeletes(root: string, id?: string): Promise<AgentStatus> {
    return this.answerHeld(root, 'confirm', id);
  }

  /** Puts back the held deletes of `root` and those of the hour in the same direction (AgentCommands.restoreDeletes). */
  restoreDeletes(root: string, id?: string): Promise<AgentStatus> {
    return this.answerHeld(root, 'restore', id);
  }

  /**
   * The answer is taken at once; it returns once it is kept for a restart too (answer.ts). With
   * `id`, it is for that hold only: a pass may have replaced the one the user read since.
   */
  private async answerHeld(root: string, answer: 'confirm' | 'restore', id?: string): Promise<AgentStatus> {
    const f = this.folderAt(root);
    const held = f.status.pendingDeletes;
    if (held?.id === undefined) throw new StrataError('E_NOT_HELD', 'no pass of this folder is waiting for a confirmation', { path: root });
    if (id !== undefined && id !== held.id) throw new StrataError('E_HOLD_CHANGED', 'the held deletes changed since they were shown (a pass found other files deleted): look at them again before answering', { path: root });
    try {
      await f.answerHeld({ ...held, id: held.id }, answer);
    } finally {
      this.wake();
    }
    return this.status();
  }

  /**
   * Ends a conflict the status of `root` lists, on the disk (agent-conflicts.ts); the next pass,
   * due at once, syncs it. For keep "both" the answer names where the copy went (besideAs).
   */
  resolveConflict(root: string, copy: string, keep: string): Promise<ResolvedConflict> {
    return resolveConflict(this.conflictHost(), root, copy, keep);
  }

  /** Ends the conflicts of `root` named by their copies, or all it lists (agent-conflicts.ts). */
  resolveConflicts(root: string, keep: string, copies?: readonly string[]): Promise<ResolvedConflicts> {
    return resolveConflicts(this.conflictHost(), root, keep, copies);
  }

  /** What the conflict commands need of the agent (agent-conflicts.ts). */
  private conflictHost(): ConflictHost {
    return { folderAt: (root) => this.folderAt(root), status: () => this.status(), betweenPasses: (change) => this.betweenPasses(change), quietly: (work) => this.quietly(work) };
  }

  /**
   * Runs `change`, a change to the disk that no pass may overlap, once the pass running (if any)
   * has ended; no pass starts until it is done, or one that scanned a copy before it went would
   * list the conflict again (and announce it as new) as it ended. The next pass is due at once.
   */
  private async betweenPasses(change: () => Promise<void>): Promise<void> {
    const done = this.outside.then(async () => {
      await this.running?.done;
      await change();
    });
    this.outside = done.catch(() => undefined);
    try {
      await done;
    } finally {
      this.wake();
    }
  }

  /** Runs `work` with the statuses it would push held back: one is pushed at its end, if any was held. */
  private async quietly<T>(work: () => Promise<T>): Promise<T> {
    this.hush++;
    try {
      return await work();
    } finally {
      if (--this.hush === 0 && this.hushed) {
        this.hushed = false;
        this.emitStatus();
      }
    }
  }

  /** Resolves once no change to the disk that no pass may overlap is under way or waiting (outside). */
  private async noneOutside(): Promise<void> {
    for (let last = this.outside; ; last = this.outside) {
      await last;
      if (last === this.outside) return;
    }
  }

  /**
   * Switches `root`'s org layers to `lower` (FolderSpec.lower); `before` are those its disk was laid
   * from. The next pass makes the switch (not while paused, nor while deletes wait for a
   * confirmation); lowerSwitched(root) tells when it has synced.
   */
  switchLower(root: string, lower: readonly BlobId[], before: readonly BlobId[], rootKeys?: ReadonlyMap<BlobId, string>): void {
    this.folderAt(root).switchLower(lower, before, rootKeys);
    this.wake();
  }

  /** Resolves once `root` has no switch of its org layers waiting for a synced pass. */
  lowerSwitched(root: string): Promise<void> {
    return this.folderAt(root).lowerSwitched();
  }

  private folderAt(root: string): FolderRuntime {
    const f = this.folders.find((x) => x.spec.root === root);
    if (f === undefined) throw new StrataError('E_NO_FOLDER', 'no synced folder has this root', { path: root });
    return f;
  }

  /** Resolves once `n` more passes have completed (or failed). */
  passesDone(n = 1): Promise<void> {
    const after = this.passes + n;
    return new Promise((resolve) => this.passWaiters.push({ after, resolve }));
  }

  /** Stops the passes and closes the folders. Idempotent: a later call waits for the first one's stop. */
  stop(): Promise<void> {
    this.stopping ??= this.stopOnce();
    return this.stopping;
  }

  private async stopOnce(): Promise<void> {
    this.stopped = true;
    this.running?.abort.abort(new StrataError('E_STOPPED', 'the agent is stopping'));
    this.wake();
    await this.loop;
    for (const stop of this.unwatch.splice(0)) await stop().catch(() => undefined);
    for (const f of this.folders) {
      await f.saveLastSync(true).catch(() => undefined);
      await f.close();
    }
    await this.saveLastSync().catch(() => undefined);
  }

  private wake(): void {
    this.wakeUp?.();
  }

  private emitStatus(): void {
    if (this.hush > 0) {
      this.hushed = true;
      return;
    }
    this.emit({ type: 'status', status: this.status() });
  }

  private emit(e: AgentEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // A listener's failure is its own; the agent goes on.
      }
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (!this.paused) {
        if (await this.opening()) await this.runDue();
      } else {
        for (const f of this.folders) if (f.status.state !== 'paused') f.setState('paused');
      }
      if (this.stopped) break;
      await this.sleep(this.paused ? undefined : this.nextDue());
    }
  }

  /** openFolders, as the running step: a pause meanwhile aborts its requests. */
  private async opening(): Promise<boolean> {
    let finish!: () => void;
    const abort = new AbortController();
    this.running = { abort, done: new Promise((r) => (finish = r)) };
    try {
      return await withSignal(abort.signal, () => this.openFolders(abort.signal));
    } finally {
      this.running = undefined;
      finish();
    }
  }

  /**
   * Opens the store, then each folder not open yet whose turn has come. A store that cannot be
   * opened stops every folder (false); a folder that cannot be opened (its state dir, its watcher)
   * stops only itself, and is tried again after a backoff.
   */
  private async openFolders(signal: AbortSignal): Promise<boolean> {
    if (this.repo === undefined) {
      try {
        // The index is loaded by the first pass (which loads it anyway).
        this.repo = await openRepository(await this.opts.openStore(), { loadIndex: false, keptIndexes: indexesDir(this.opts.stateDir) });
      } catch (err) {
        // Cut short by a pause or a stop: no failure of the store's.
        if (signal.aborted) return false;
        for (const f of this.folders) {
          f.begin();
          f.setError(isOffline(err) ? 'offline' : 'error', err);
        }
        const f = this.folders[0];
        if (f !== undefined) {
          f.failures++;
          for (const g of this.folders) g.nextPoll = this.now().getTime() + this.backoff(f.failures);
        }
        return false;
      }
    }
    for (const f of this.folders) {
      if (f.opened || this.paused || this.stopped || (!f.due && this.now().getTime() < f.nextPoll)) continue;
      try {
        await f.open(this.repo);
      } catch (err) {
        f.due = false;
        f.begin();
        this.failed(f, err);
      }
    }
    return true;
  }

  private backoff(failures: number): number {
    return Math.min(MAX_BACKOFF_MS, (this.opts.pollMs ?? 10_000) * 2 ** Math.min(failures - 1, 10));
  }

  private nextDue(): number {
    if (this.folders.some((f) => f.due)) return 0;
    return Math.max(0, Math.min(...this.folders.map((f) => f.nextPoll)) - this.now().getTime());
  }

  private sleep(ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = () => {
        this.wakeUp = undefined;
        done();
      };
    });
  }

  private async runDue(): Promise<void> {
    for (const f of this.folders) {
      // Nothing awaited between here and runPass, which marks itself running at once.
      await this.noneOutside();
      if (this.paused || this.stopped) return;
      const now = this.now().getTime();
      // A missing root is looked at again each poll (a stat, no store request) and when the watcher sees it back.
      const folder = f.ready;
      if (folder === undefined || (!f.due && now < f.nextPoll)) continue;
      f.due = false;
      f.nextPoll = now + (this.opts.pollMs ?? 10_000);
      await this.runPass(f, folder);
    }
  }

  private async runPass(f: FolderRuntime, folder: SyncFolder): Promise<void> {
    const abort = new AbortController();
    let finish!: () => void;
    this.running = { abort, done: new Promise((r) => (finish = r)) };
    // Taken as the pass starts: a pass already running when it was asked for may have scanned before.
    const asked = f.rescanAsked;
    f.rescanAsked = false;
    let synced = false;
    let fresh: ConflictInfo[] = [];
    try {
      f.begin();
      f.setState('scanning');
      await this.runBeside(f, folder);
      // Without a watcher, or one a system limit kept from some folders, nothing marks (all) paths
      // dirty: every pass rescans (the stat cache keeps it cheap); so does one whose path too long
      // to read stands in its status, so that the pass that no longer finds it ends the warning.
      // A watcher may also have missed changes unawares (an overflow), so a full rescan comes
      // round anyway.
      const now = this.now().getTime();
      if (this.opts.watch === false || f.rescanAll || asked || now >= f.nextRescan) {
        folder.markAllDirty();
        f.nextRescan = now + (this.opts.rescanMs ?? 3_600_000);
      }
      // The pass looks at the root again: only seen missing from now on is it missing at its end.
      f.rootMissing = false;
      const r = await withSignal(abort.signal, () => folder.pass(abort.signal));
      await f.noteUnsynced(r.scan);
      fresh = f.record(r);
      if (r.status === 'retry') {
        if (f.failures++ < MAX_RETRIES) f.due = true;
        // Left for the next poll: no step of it runs meanwhile, and its figures are no one's.
        else f.ended();
      }
      if (r.status === 'synced') {
        synced = true;
        await f.saveLastSync(r.snapshot !== undefined);
        await this.noteSynced(r.snapshot !== undefined);
        // Only a pass that changed the disk can have brought something for beside (other machines'
        // settings); what changed on the machine meanwhile, the next pass's run before it catches.
        if (r.wrote > 0 && (await this.runBeside(f, folder)) > 0) f.due = true;
      }
    } catch (err) {
      if (abort.signal.aborted) f.setState(this.paused ? 'paused' : 'idle');
      else this.failed(f, err);
    } finally {
      // A full scan asked for stays asked until a pass with one syncs.
      if (asked && !synced) f.rescanAsked = true;
      this.running = undefined;
      finish();
      this.passes++;
      this.passWaiters = this.passWaiters.filter((w) => (w.after <= this.passes ? (w.resolve(), false) : true));
    }
    for (const conflict of fresh) this.emit({ type: 'conflict', root: f.spec.root, conflict });
  }

  /** AgentOptions.beside for `f`: marks what it changed dirty in its `folder`, and says how many paths that was. */
  private async runBeside(f: FolderRuntime, folder: SyncFolder): Promise<number> {
    if (this.opts.beside === undefined) return 0;
    const changed = await this.opts.beside(f.spec.root).catch(() => []);
    folder.markDirty(changed);
    return changed.length;
  }

  /** AgentOptions.watchBeside for `f`: a change makes its pass due at once. */
  private watchBeside(f: FolderRuntime): void {
    if (this.opts.watchBeside === undefined) return;
    this.unwatch.push(
      this.opts.watchBeside(f.spec.root, () => {
        if (this.stopped) return;
        f.due = true;
        this.wake();
      }),
    );
  }

  private failed(f: FolderRuntime, err: unknown): void {
    f.failures++;
    if (err instanceof StrataError && err.code === 'E_NO_ROOT') {
      f.rootMissing = true;
      f.setError('error', err);
      f.nextPoll = this.now().getTime() + (this.opts.pollMs ?? 10_000);
      return;
    }
    f.setError(isOffline(err) ? 'offline' : 'error', err);
    f.nextPoll = this.now().getTime() + this.backoff(f.failures);
  }

  /** Persists the last sync time when something was written, or at most once a minute (else a pause or a stop saves it). */
  private async noteSynced(wrote: boolean): Promise<void> {
    if (this.folders.some((f) => f.status.state !== 'idle' || f.status.pendingDeletes !== undefined)) return;
    const last = this.state.get().lastSync;
    const now = this.now();
    this.unsavedSync = now.toISOString();
    if (!wrote && last !== undefined && now.getTime() - Date.parse(last) < 60_000) return this.emitStatus();
    await this.saveLastSync();
  }

  private async saveLastSync(): Promise<void> {
    const at = this.unsavedSync;
    if (at === undefined) return;
    await this.state.update((d) => {
      d.lastSync = at;
    });
    this.unsavedSync = undefined;
    this.emitStatus();
  }
}
