/**
 * Restore: lays a tree (a snapshot's root, or one path in it) from the repository onto a folder —
 * fast, verified, resumable, seeded from local files, and safe against a hostile bucket
 * (DESIGN §2 and §4).
 *
 * What must always hold:
 * - Nothing is written outside the target, and nothing is written through a link: folders on the
 *   way are checked or created by the restore, and anything else found there (a symlink, a file)
 *   is removed, never followed. Inside the target the snapshot wins; paths it does not mention
 *   are left alone.
 * - A symlink whose target escapes the layer root fails the whole restore (E_BAD_SYMLINK) before
 *   the first write. Links are restored as links.
 * - A target file changes only by one rename of a complete, verified, fsynced temp file
 *   (`.strata-tmp-…`, in the same folder) whose mode and mtime are already set; bytes that fail
 *   verification (E_CHUNK_HASH_MISMATCH from the repository) never reach a target path.
 *   setuid/setgid bits are never restored.
 * - Killed at any point, running the same restore again finishes it with an identical result:
 *   leftover temp files are removed, and files whose size, mtime, mode and chunk list already
 *   match are left untouched (stats.filesSkippedComplete).
 * - Chunks found in local files (seeds, and the target's own old files) are copied after being
 *   re-verified against their ids; only the rest is downloaded, with coalesced ranged GETs,
 *   higher-priority files first, each chunk fetched once and written to every place it occupies,
 *   and no byte of the store fetched twice (one read plan for all missing chunks; ranges fetched
 *   while walking the trees are kept for it).
 *
 * Durability: every file is fsynced before its rename, and every folder that gained an entry is
 * fsynced before the restore returns. Deferring the file fsyncs (rename first, one sync at the
 * end) was considered and rejected: after a crash a target path could then hold a torn file that
 * only the next restore would notice (by re-chunking it), while the watcher, or a user who opened
 * a high-priority file early, could take it for real content. Node offers no syncfs, so batching
 * would not lower the number of fsyncs either, and they already run in parallel (one journal
 * commit serves several). What was cut instead are the other per-file and per-folder calls (see
 * restore.ts).
 */
export { restoreTree, restoreSnapshot } from './restore.js';
export { TEMP_PREFIX } from '../fsutil.js';
export type { RestoreOptions, RestoreStats, RestoreProgress, ChunkFileFn, ChunkedFile } from './types.js';
