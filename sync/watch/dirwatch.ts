/**
 * DirWatch: the watcher's event source — one OS watch per directory, none per file.
 *
 * Why not chokidar: chokidar 5 opens a watch for every file and keeps an fs.Stats per file. On a
 * 100,000-file layer the bench measured its initial walk at 10.5 s and its cost at 650–890 MB of
 * RSS, with one inotify watch per file (the idle agent's budget is 200 MB). A directory watch
 * already reports what happens to the entries inside it (inotify on Linux: create, delete, move,
 * modify, attribute change), so 1,011 watches cover those 100,000 files for 0.5 MB. macOS and
 * Windows watch a whole tree with one native handle (`recursive`), so there the root alone is
 * watched. The watcher (watcher.ts) debounces, samples and filters; this only says "look here".
 *
 * What must hold:
 * - every directory under the root is watched, except those `skipDir` refuses (excluded folders
 *   cost no handle) and symlinks (never followed); a directory that appears is watched at once and
 *   a directory that goes (or becomes something else) releases its watches; one replaced by
 *   another is watched again, also when the new one has the old one's inode number;
 * - a change reports the entry's path; when the OS does not name the entry, the directory's own
 *   (libuv's inotify names a directory's own events by its name, so this is only a safeguard);
 * - a directory the user may not read is left unwatched, never an error (the scan cannot read it
 *   either, and reports it skipped): the change of mode that opens it raises an event in its
 *   parent, and it is watched from then on. The same holds for a directory whose path is past
 *   PATH_MAX (ENAMETOOLONG), which nothing can open by its path: a rename that shortens its path
 *   raises an event in a watched directory above it;
 * - a directory a system limit leaves unwatched (inotify's watches per user: ENOSPC) is never an
 *   error either: `onLimit` says so, and the caller must find changes in it some other way;
 * - every event passes through the OS queue's meter (queue.ts): a read large enough to have
 *   overflowed it calls `onOverflow`, and the caller must rescan, since the OS says nothing of
 *   what it dropped. On macOS and Windows the one handle on the tree has no such queue: there an
 *   event that names no entry calls `onOverflow` (Windows: its change buffer overflowed, and libuv
 *   passes no filename) after the root's own path; the meter is not used.
 */
import { watch, type FSWatcher } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { osEventQueue, type EventQueue } from './queue.js';
import { isGone, isLimit, isRefused, isTooLong } from './sample.js';

export interface DirWatchOptions {
  /** True for directories that must not be watched (nor anything under them). */
  skipDir: (abs: string) => boolean;
  /** Something at `abs` was created, changed, removed or renamed: a hint, never a fact. */
  onChange: (abs: string) => void;
  onError: (err: unknown) => void;
  /** A directory (and what is under it) is not watched: a system limit refused its watch. */
  onLimit: (dir: string, err: unknown) => void;
  /** A read of the OS's event queue may have overflowed it: events were perhaps dropped unsaid. */
  onOverflow: () => void;
  /** The OS's event queue (default: this process's inotify queue, osEventQueue). */
  queue?: EventQueue;
  /** Watches the whole tree with one handle instead of one per directory (default: nativeTreeWatch; tests: a fake). */
  treeWatch?: TreeWatch;
}

/**
 * One native handle on a whole tree: `name` is the changed entry's path relative to the root,
 * null when the OS names none.
 */
export type TreeWatch = (root: string, listener: (event: string, name: string | null) => void) => FSWatcher;

/** The platform's tree watch: macOS's and Windows's fs.watch cover a whole tree; Linux has none (one inotify watch per directory). */
export const nativeTreeWatch: TreeWatch | undefined =
  process.platform === 'darwin' || process.platform === 'win32' ? (root, listener) => watch(root, { recursive: true }, (event, name) => listener(event, name ?? null)) : undefined;

export class DirWatch {
  /** Watched directory → its watch and the inode it was opened on (a replaced directory needs a new one). */
  private readonly watchers = new Map<string, { w: FSWatcher; ino: number }>();
  private closed = false;
  private readonly queue: EventQueue;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly root: string,
    private readonly opts: DirWatchOptions,
  ) {
    this.queue = opts.queue ?? osEventQueue();
  }

  /** Watches the root and the directories under it; resolves once all of them are watched. */
  async start(): Promise<void> {
    const tree = this.opts.treeWatch ?? nativeTreeWatch;
    if (tree !== undefined) {
      const w = tree(this.root, (_event, name) => this.treeEvent(name));
      w.on('error', (err) => this.opts.onError(err));
      this.watchers.set(this.root, { w, ino: 0 });
      return;
    }
    this.unsubscribe = this.queue.subscribe(() => {
      if (!this.closed) this.opts.onOverflow();
    });
    await this.add(this.root);
  }

  /** Number of directories watched (one handle each on Linux). */
  get size(): number {
    return this.watchers.size;
  }

  close(): void {
    this.closed = true;
    this.unsubscribe?.();
    for (const { w } of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  /**
   * Watches `dir`, then lists it and does the same for each directory inside. With `report`
   * (a directory that appeared after the start) every entry found is reported too: it may have
   * been made before the watch was, and then no event names it.
   */
  private async add(dir: string, ino?: number, report = false): Promise<void> {
    if (this.closed || this.watchers.has(dir)) return;
    let w: FSWatcher;
    try {
      ino ??= (await lstat(dir)).ino;
      if (this.closed || this.watchers.has(dir)) return;
      w = watch(dir, { persistent: true }, (event, name) => this.event(dir, event, name?.toString()));
    } catch (err) {
      if (isGone(err) || isRefused(err) || isTooLong(err)) return;
      if (isLimit(err)) return this.opts.onLimit(dir, err);
      throw err;
    }
    w.on('error', (err) => (isGone(err) ? this.drop(dir) : this.opts.onError(err)));
    this.watchers.set(dir, { w, ino });
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isGone(err)) return this.drop(dir);
      if (isRefused(err)) return;
      throw err;
    }
    if (this.closed) return;
    for (const e of entries) {
      const child = path.join(dir, e.name);
      if (report) this.opts.onChange(child);
      if (e.isDirectory() && !this.opts.skipDir(child)) await this.add(child, undefined, report);
    }
  }

  /**
   * An event of the tree watch. One that names nothing is taken for an overflow: Windows's change
   * buffer (ReadDirectoryChangesW) overflowed and its changes are lost, which libuv says by a
   * callback with no filename. (macOS: libuv passes on no event of the root itself, nor FSEvents'
   * own word of dropped events; one that names nothing costs a rescan.)
   */
  private treeEvent(name: string | null): void {
    if (this.closed) return;
    if (name !== null && name !== '') return this.opts.onChange(path.join(this.root, name));
    this.opts.onChange(this.root);
    this.opts.onOverflow();
  }

  private event(dir: string, event: string, name: string | undefined): void {
    if (this.closed || !this.queue.take()) return;
    if (name === undefined || name === '') return this.opts.onChange(dir);
    const abs = path.join(dir, name);
    this.opts.onChange(abs);
    this.follow(abs, event === 'rename').catch((err: unknown) => this.opts.onError(err));
  }

  /**
   * Starts watching a directory that appeared at `abs`, or stops watching what is gone from there.
   * `moved`: the entry was made, removed or renamed. A watch already at `abs` is then opened
   * again, whatever its inode: a folder removed and made again at once (rm -rf d && mkdir d) is
   * often given the freed inode number, and the watch of the old one is dead.
   */
  private async follow(abs: string, moved = false): Promise<void> {
    let st;
    try {
      st = await lstat(abs);
    } catch (err) {
      if (isTooLong(err)) return;
      if (!isGone(err)) throw err;
    }
    if (this.closed) return;
    if (st === undefined || !st.isDirectory()) return this.drop(abs);
    const known = this.watchers.get(abs);
    if ((known?.ino === st.ino && !moved) || this.opts.skipDir(abs)) return;
    if (known !== undefined) this.drop(abs);
    await this.add(abs, st.ino, true);
  }

  /** Releases the watches on `dir` and everything under it. */
  private drop(dir: string): void {
    const under = `${dir}${path.sep}`;
    for (const [p, { w }] of this.watchers) {
      if (p !== dir && !p.startsWith(under)) continue;
      w.close();
      this.watchers.delete(p);
    }
  }
}
