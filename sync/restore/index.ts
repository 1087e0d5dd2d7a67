/**
 * Restore: lays a tree (a snapshot's root, or one path in it) from the repository onto a folder —
 * fast, verified, resumable, seeded from local files, and safe against a hostile bucket
 * (DESIGN §2 and §4).
 *
 * What must always hold:
 * - Nothing is written outside the target, and nothing is written through a link: folders on the
 *   way are checked or created by the restore, and anything else found there (a symlink, a file)
 *   is removed, never followed. Inside the target the snapshot wins; paths it does not mention
 *   are left alone. With `newcomers` (or `aside`), what appears at a file's, a link's or a folder's
 *   path after the walk (a folder's: after the caller's `listed`, `seen` or `walked`), or changes
 *   there since, is moved to a conflict copy before the snapshot's entry goes in, never replaced
 *   (assembly.ts Placing, meta.ts restoreLink, fsutil.ts ensureDirs),
 *   and a file changed after its content was found right keeps its time (meta.ts fixFileMeta). With `aside`, an entry of another kind where the snapshot has one (a folder
 *   where it has a file) is moved aside to a conflict copy instead of removed, and a file or link
 *   the restore replaces is kept as one too unless the layer's latest snapshot has its version
 *   (aside.ts).
 * - A path that cannot be laid under the target on this machine (past PATH_MAX, a temp beside it
 *   counted: another machine's root was higher up) is left out before the first write, with all
 *   under it, and named (stats.tooLong); everything else is restored.
 * - Links are restored as links, whatever they point at (absolute, or above the root): a link is
 *   data, as on the machine it came from, and the restore never follows one. Only a target no link
 *   can hold (empty, or with a NUL) fails the whole restore (E_BAD_SYMLINK) before the first write.
 * - A target file changes only by one rename of a complete, verified temp file (`.strata-tmp-…`,
 *   in the same folder) whose mode and mtime are already set, made durable first where the rename
 *   replaces a file (see Durability); bytes that fail
 *   verification (E_CHUNK_HASH_MISMATCH from the repository) never reach a target path.
 *   setuid/setgid bits are never restored.
 * - Killed at any point, running the same restore again finishes it with an identical result:
 *   leftover temp files are removed (never a --beside restore's temp folder that may still be in
 *   use: beside-temp.ts), after serving as seeds (a large file cut off half-way is not downloaded
 *   again from its start), and files whose size, mtime, mode and chunk list already
 *   match are left untouched (stats.filesSkippedComplete). With `quickCheck`, size and mtime
 *   alone decide, and such files are not read at all (not even as seeds).
 * - Chunks found in local files (seeds, and the target's own old files) are copied after being
 *   re-verified against their ids; only the rest is downloaded, with coalesced ranged GETs,
 *   higher-priority files first, each chunk fetched once and written to every place it occupies,
 *   and no byte of the store fetched twice (one read plan for all missing chunks; ranges fetched
 *   while walking the trees are kept for it).
 *
 * Durability: by default everything the restore wrote is durable before it returns, and a file it
 * replaces is never lost — its new version is durable before the rename over it (with `aside`, a
 * copy kept of the old version is durable before anything is replaced). Where the file system can be
 * synced as a whole (syncfs; Linux, probed as the sign-in probes it) and the restore lays 64 files
 * or more, that takes no fsync per file:
 * a file written where nothing was is renamed at once; files that replace one wait, sealed, for a
 * syncfs before their renames (in batches of at most 64 MiB, assembly.ts); and one syncfs of each
 * file system written to comes after the folders' metadata is set, before the restore returns. A
 * crash before that may leave a new file empty or zeroed under its name and mtime — nothing of the
 * user's was there, and the rerun (which never takes a file for complete by its name, nor without
 * `quickCheck` by its size and mtime) writes it again. An fsync each cost 234 s of a 284 s restore
 * of 100,000 small files. Elsewhere every file is fsynced before its rename (a file left in place
 * whose mode or mtime the restore fixed, after that), and every folder that gained an entry or whose
 * metadata changed is fsynced, after its metadata is set, before the restore returns.
 *
 * With `deferSync` the restore makes no fsync or syncfs at all, and the caller syncs each file system it wrote to once
 * (stats.fileSystems; fsutil.ts syncFileSystem: syncfs, Linux) before it records the restore as done; per-file fsyncs cost more than every other step of a
 * small-file restore together (5.6 s against 2.7 s for 20,000 files here). The price is what a
 * crash before that sync may leave: a renamed file whose data never reached the disk (empty, or on
 * some file systems zeroed, with its mtime already set). So a caller that defers must rerun the
 * restore without `quickCheck` after a crash — reading every file is what tells such a file from
 * a good one — and must not let anything else take the target for laid until then. The sign-in
 * does exactly that (signin/lay.ts, its `laying` marker), which also lets it take files by their size
 * and mtime (`quickCheck`); `strata restore` keeps the default.
 */
export { prepareTarget, restoreTree, restoreSnapshot } from './restore.js';
export { MAX_DEPTH, MAX_PLAN_ENTRIES } from './plan.js';
export { BESIDE_TEMP, besideTempPrefix } from './beside-temp.js';
export { TEMP_PREFIX } from '../fsutil.js';
export { tempInUse } from '../temps.js';
export type { RestoreOptions, RestoreStats, RestoreProgress, ChunkFileFn, ChunkFilesFn, ChunkedFile, MemoryTree } from './types.js';
export type { EarlierWalk, FileStat } from './seed.js';
