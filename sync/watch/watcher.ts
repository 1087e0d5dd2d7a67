/**
 * LayerWatcher: directory watches on one layer root (dirwatch.ts), turned into batches of dirty
 * relative paths. The module contract is in index.ts.
 */
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { StrataError } from '../errors.js';
import { DirWatch, type TreeWatch } from './dirwatch.js';
import type { Excluder } from './exclude.js';
import type { EventQueue } from './queue.js';
import { isGone, sample, sameSample, Suppressions, type Sample, type WrittenStat } from './sample.js';

export interface LayerWatcherOptions {
  /** Excluded paths are never reported; directories matched are not even watched. */
  exclude?: Excluder;
  /** Quiet time after a path's last event before its first stability check. Default 300 ms. */
  debounceMs?: number;
  /** A path is settled when two lstat samples this far apart agree. Default 500 ms. */
  stabilityMs?: number;
  /** How often the root is checked when no event comes (an unmount raises none). Default 5 s. */
  rootCheckMs?: number;
  /** Settled dirty paths, relative POSIX, sorted; old and new path for a rename. */
  onDirty: (paths: string[]) => void;
  /** The root vanished or was replaced: pending paths are dropped, nothing more is reported. */
  onRootMissing?: (root: string) => void;
  /** The root is back after onRootMissing: open a new watcher and rescan. */
  onRootRestored?: (root: string) => void;
  onError?: (err: StrataError) => void;
  /**
   * Some directories are not watched: a system limit (inotify's watches per user) refused them.
   * Their changes are never reported, so the engine must rescan the whole root for them. Called
   * once per watcher.
   */
  onIncomplete?: (err: StrataError) => void;
  /**
   * The OS may have dropped events (a burst filled inotify's queue: queue.ts; on macOS and Windows
   * the tree's handle gave an event that names nothing: Windows's buffer overflowed), and it never
   * says which: the engine must rescan the whole root. Called once the burst is over (debounce and
   * stability times after the read that filled the queue), once for the reads of that time.
   */
  onOverflow?: () => void;
  /** The OS's event queue (tests: one that overflows at a few events; default: the process's own). */
  queue?: EventQueue;
  /** One handle on the whole tree (tests: a fake that overflows; default: macOS's and Windows's recursive fs.watch, none on Linux). */
  treeWatch?: TreeWatch;
  /** How a pending path is sampled (tests: one that writes between two samples; default: sample.ts's lstat). */
  sample?: (absPath: string) => Promise<Sample>;
}

type RootId = { dev: number; ino: number } | null;

export class LayerWatcher {
  /** Resolves once the initial scan is done; paths found by it are never reported. */
  readonly ready: Promise<void>;
  private readonly root: string;
  private readonly opts: LayerWatcherOptions;
  private readonly suppressions = new Suppressions();
  /**
   * Paths waiting to settle: when each is to be sampled next (performance.now() time: its quiet
   * time after its last event, then a stability interval after each sample), and its last sample
   * (undefined before the first one). Each path keeps its own times: a file that never stops
   * changing (a log) must not keep the others from being reported.
   */
  private readonly pending = new Map<string, { due: number; last?: Sample }>();
  private dirs: DirWatch | undefined;
  private rootId: RootId = null;
  private rootMissing = false;
  private closed = false;
  private incomplete = false;
  private settling = false;
  private timer: NodeJS.Timeout | undefined;
  private rootTimer: NodeJS.Timeout | undefined;
  /** Set from a read that may have overflowed the OS queue until onOverflow is called. */
  private overflowTimer: NodeJS.Timeout | undefined;

  constructor(root: string, opts: LayerWatcherOptions) {
    this.root = path.resolve(root);
    this.opts = opts;
    // A start that fails must not leave the watches it opened so far: whoever retries opens new ones.
    this.ready = this.start().catch(async (err: unknown) => {
      await this.close();
      throw err;
    });
  }

  /** The engine wrote `relPath` itself and left it as `stat` (null: it deleted it). */
  suppress(relPath: string, stat: WrittenStat): void {
    this.suppressions.set(relPath, stat);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.rootTimer);
    clearTimeout(this.overflowTimer);
    this.pending.clear();
    this.stopWatching();
  }

  private async start(): Promise<void> {
    this.rootTimer = setInterval(() => this.checkRootSafely(), this.opts.rootCheckMs ?? 5000);
    this.rootTimer.unref();
    this.rootId = await rootIdentity(this.root);
    if (this.rootId === null) {
      this.markRootMissing();
      return;
    }
    const exclude = this.opts.exclude;
    const dirs = new DirWatch(this.root, {
      skipDir: (abs) => {
        const rel = this.toRel(abs);
        return exclude !== undefined && rel !== null && exclude(rel, true);
      },
      onChange: (abs) => this.onChange(abs),
      onError: (err) => this.fail(err),
      onLimit: (dir, err) => this.limited(dir, err),
      onOverflow: () => this.overflowed(),
      queue: this.opts.queue,
      treeWatch: this.opts.treeWatch,
    });
    this.dirs = dirs;
    await dirs.start();
  }

  private onChange(abs: string): void {
    if (this.closed || this.rootMissing) return;
    const rel = this.toRel(abs);
    if (rel === null) {
      if (path.resolve(abs) === this.root) this.checkRootSafely();
      return;
    }
    // Excluded whatever its kind: dropped now. Excluded as a dir only: decided once sampled.
    const exclude = this.opts.exclude;
    if (exclude !== undefined && exclude(rel, false) && exclude(rel, true)) return;
    this.pending.set(rel, { due: performance.now() + this.debounceMs });
    // A timer already set stays: moved at each event, it would never fire while any path changes.
    if (this.timer === undefined) this.schedule(this.debounceMs);
  }

  private get debounceMs(): number {
    return this.opts.debounceMs ?? 300;
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.settle();
    }, ms);
  }

  private get stabilityMs(): number {
    return this.opts.stabilityMs ?? 500;
  }

  /** The next check: when the first pending path is due. */
  private scheduleNext(): void {
    if (this.pending.size === 0) return;
    let due = Infinity;
    for (const e of this.pending.values()) due = Math.min(due, e.due);
    this.schedule(Math.max(1, due - performance.now()));
  }

  /** Samples every pending path; reports those whose sample did not move since the last one. */
  private async settle(): Promise<void> {
    if (this.closed || this.rootMissing) return;
    if (this.settling) return this.schedule(this.stabilityMs);
    this.settling = true;
    try {
      if (!(await this.checkRoot())) return;
      const settled = await this.sampleAll();
      if (this.closed || this.rootMissing) return;
      if (settled.length > 0) this.opts.onDirty(settled.sort());
      this.scheduleNext();
    } catch (err) {
      this.fail(err);
    } finally {
      this.settling = false;
    }
  }

  private async sampleAll(): Promise<string[]> {
    const settled: string[] = [];
    const started = performance.now();
    for (const [rel, entry] of [...this.pending]) {
      if (entry.due > started) continue;
      const now = await (this.opts.sample ?? sample)(path.join(this.root, rel));
      // A new event while sampling replaced the entry: it starts over.
      if (this.pending.get(rel) !== entry) continue;
      if (entry.last === undefined || !sameSample(entry.last, now)) {
        entry.last = now;
        entry.due = performance.now() + this.stabilityMs;
        continue;
      }
      this.pending.delete(rel);
      if (this.opts.exclude?.(rel, now?.kind === 'dir')) continue;
      if (!this.suppressions.matches(rel, now)) settled.push(rel);
    }
    return settled;
  }

  /** True while the root is the directory the watcher started on. */
  private async checkRoot(): Promise<boolean> {
    if (this.closed) return false;
    const id = await rootIdentity(this.root);
    if (this.rootMissing) {
      if (id !== null) this.markRootRestored();
      return false;
    }
    const same = id !== null && this.rootId !== null && id.dev === this.rootId.dev && id.ino === this.rootId.ino;
    if (!same) this.markRootMissing();
    return same;
  }

  private checkRootSafely(): void {
    this.checkRoot().catch((err: unknown) => this.fail(err));
  }

  private markRootMissing(): void {
    if (this.closed || this.rootMissing) return;
    this.rootMissing = true;
    this.pending.clear();
    clearTimeout(this.timer);
    this.timer = undefined;
    clearTimeout(this.overflowTimer);
    this.overflowTimer = undefined;
    this.stopWatching();
    this.opts.onRootMissing?.(this.root);
  }

  private markRootRestored(): void {
    this.rootMissing = false;
    // This watcher stays quiet: its events would be relative to a directory it never scanned.
    this.closed = true;
    clearInterval(this.rootTimer);
    this.opts.onRootRestored?.(this.root);
  }

  private stopWatching(): void {
    this.dirs?.close();
    this.dirs = undefined;
  }

  private limited(dir: string, err: unknown): void {
    if (this.closed || this.incomplete) return;
    this.incomplete = true;
    this.opts.onIncomplete?.(new StrataError('E_WATCH_LIMIT', `this folder and those after it are not watched (${limitAdvice(err)}); their changes are found by rescanning the whole folder at each poll`, { path: dir }, { cause: err }));
  }

  /**
   * A rescan while the burst goes on would miss what comes after it: the engine is told once the
   * paths would have settled. Later reads that overflow meanwhile need no second rescan.
   */
  private overflowed(): void {
    if (this.closed || this.rootMissing || this.overflowTimer !== undefined) return;
    this.overflowTimer = setTimeout(() => {
      this.overflowTimer = undefined;
      if (!this.closed && !this.rootMissing) this.opts.onOverflow?.();
    }, this.debounceMs + this.stabilityMs);
  }

  private fail(err: unknown): void {
    if (this.closed) return;
    const e = err instanceof StrataError ? err : new StrataError('E_WATCH', `watcher failed: ${String(err)}`, { path: this.root }, { cause: err });
    this.opts.onError?.(e);
  }

  /** POSIX path relative to the root; null for the root itself and anything outside it. */
  private toRel(abs: string): string | null {
    const rel = path.relative(this.root, path.resolve(abs));
    if (rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) return null;
    return rel.split(path.sep).join('/');
  }
}

/** Which limit refused a watch (sample.ts isLimit), and how the user raises it. */
function limitAdvice(err: unknown): string {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOSPC':
      return "ENOSPC: the user's limit of inotify watches is reached; raise it: sysctl fs.inotify.max_user_watches=524288, and in /etc/sysctl.d to keep it";
    case 'EMFILE':
    case 'ENFILE':
      return 'too many open files; raise the limit of open files (ulimit -n, LimitNOFILE)';
    default:
      return 'the system is out of memory for watches';
  }
}

async function rootIdentity(root: string): Promise<RootId> {
  try {
    const st = await lstat(root);
    return st.isDirectory() ? { dev: st.dev, ino: st.ino } : null;
  } catch (err) {
    if (isGone(err)) return null;
    throw err;
  }
}
