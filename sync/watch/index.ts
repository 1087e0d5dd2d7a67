/**
 * Watch: the local half of live sync (DESIGN §3). A watcher on one layer root reports which
 * relative paths are dirty; the engine re-scans them (its stat cache skips the unchanged ones).
 *
 * What must always hold:
 * - A path is reported only once it has stopped changing: after a quiet debounce, two lstat
 *   samples (kind, size, mtime, ctime) `stabilityMs` apart must agree. A file mid-write is never reported.
 * - Excluded paths (gitignore syntax, exclude.ts) are never reported; excluded directories are
 *   not watched at all, so browser caches cost no watch handles.
 * - Reports are hints, not facts: they name paths, never kinds of change. A rename reports the
 *   old and the new path; the engine decides what happened by looking at the disk.
 * - No echo: a path the engine suppressed with the stat it left is not reported while the disk
 *   still matches that stat, for a few minutes (SUPPRESS_MS: its events come long before); the
 *   first different state is reported.
 * - A missing or replaced root is never turned into deletes: pending paths are dropped and
 *   `onRootMissing` fires instead. The watcher reports nothing more; `onRootRestored` tells the
 *   engine to open a new one and rescan.
 * - A directory a system limit keeps from being watched (inotify's watches per user) never stops
 *   the watcher: `onIncomplete` says so once, and the engine must rescan the whole root instead.
 * - Events the OS may have dropped are never lost for long: a read of inotify's queue that nearly
 *   fills it (max_queued_events; the kernel drops the rest and Node does not say so), or on macOS
 *   and Windows an event of the tree's one handle that names no entry (Windows's change buffer
 *   overflowed), calls `onOverflow` once the burst is over, and the engine must rescan the whole root.
 * - Start-up paths are not reported (the engine runs its own start-up rescan), symlinks are never
 *   followed, and after close() no callback fires. A watcher whose start fails (`ready` rejects)
 *   has closed itself: it holds no watch.
 */
export { DEFAULT_EXCLUDES, makeExcluder } from './exclude.js';
export type { Excluder, ExcluderOptions } from './exclude.js';
export { EventQueue, maxQueuedEvents } from './queue.js';
export type { TreeWatch } from './dirwatch.js';
export { LayerWatcher } from './watcher.js';
export type { LayerWatcherOptions } from './watcher.js';
export type { WrittenStat } from './sample.js';
