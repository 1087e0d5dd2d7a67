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
 *   higher-priority files first, each chunk fetched once and written to every place it occupies.
 */
export { restoreTree, restoreSnapshot } from './restore.js';
export { TEMP_PREFIX } from './fsutil.js';
export type { RestoreOptions, RestoreStats, RestoreProgress, ChunkFileFn, ChunkedFile } from './types.js';
