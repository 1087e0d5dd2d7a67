/**
 * Snapshot: a folder on disk into a new immutable snapshot of a layer (DESIGN §2), then the
 * device's head.
 *
 * What must always hold:
 * - Write order: every pack and index the snapshot references is durable (repo.flush() resolved)
 *   before the snapshot is saved, and the snapshot is saved before the head is written.
 * - Symlinks are stored as links with their target and never followed; the walk uses lstat only.
 * - Nothing is dropped silently: special files, names the tree validator would refuse (Windows
 *   reserved names, control characters, non-UTF-8 …) and unreadable entries are left out or keep
 *   their parent version, and are always listed in `stats.skipped` with the reason. Only entries
 *   that vanished during the walk and entries the caller excluded are left out without a report.
 * - A snapshot never records chunks that do not belong together: every chunk read is verified
 *   against its id, and a file that changes while being read is read again (or skipped).
 * - Memory is bounded whatever the file sizes: files are never read whole, about twice the
 *   chunker's parallelism are in flight, and the walker waits for a free slot.
 * - Incremental: a file whose parent entry has the same size and mtime reuses its chunk list
 *   without being opened, so an unchanged directory yields the same tree id — when the parent is
 *   this device's own snapshot of this same folder (its `source`: path, device and inode of the
 *   root) and the file's mtime and ctime both lie before the parent's start (file.ts:
 *   a same-size edit whose mtime was set back since is read again). The parent's trees
 *   are read a level of the hierarchy at a time with coalesced GETs (prefetch.ts), never with a
 *   request per directory.
 */
export { takeSnapshot } from './snapshot.js';
export { InProcessChunker } from './chunker.js';
export { MAX_ATTEMPTS } from './file.js';
export type { ChunkedFile, ChunkFileOptions, FileChunk, FileChunker, SkippedEntry, SnapshotOptions, SnapshotProgress, SnapshotResult, SnapshotStats } from './types.js';
