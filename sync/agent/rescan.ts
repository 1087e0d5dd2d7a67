/**
 * The first step of a pass: rescan what the watcher marked dirty (everything at start-up and
 * after a failed pass) and upload the files that changed, reporting 'scanning', then 'uploading'
 * (its totals marked as counting until the walk has found every changed file: upload.ts).
 * Also the folder's root check: a missing root pauses sync, it never reads as an empty folder.
 *
 * Must hold:
 * - the scan's changes to the local tree (stat cache) are left uncommitted: their chunks are
 *   durable and indexed only after repo.flush(), and the pass commits them after the one flush
 *   that also makes its trees durable (folder.ts), so that a changed pass writes one index object
 *   and the local tree's chunk lists never name a chunk the bucket lacks;
 * - a scan that raced the root's removal fails with E_NO_ROOT, its changes dropped: the paths that
 *   vanished with the root must not become deletes;
 * - a failed scan leaves the local tree as last committed; the caller rescans everything next.
 */
import { stat } from 'node:fs/promises';
import { StrataError } from '../errors.js';
import type { FolderOptions } from './folder-types.js';
import type { LocalTree, ScanResult } from './local.js';
import { RepoUploader } from './upload.js';

export interface Rescanned {
  scan: ScanResult;
  /** Bytes of new chunks the scan uploaded (durable once the pass flushes). */
  uploaded: number;
}

/** Rescans `paths` ('' = everything, none = nothing) through `local`, uploading changed files; commits nothing. */
export async function rescan(local: LocalTree, paths: readonly string[], opts: Pick<FolderOptions, 'repo' | 'root' | 'chunker' | 'onPhase'>, signal?: AbortSignal): Promise<Rescanned> {
  opts.onPhase?.({ state: 'scanning', files: 0, filesTotal: 0, bytes: 0, bytesTotal: 0, counting: true });
  const uploader = new RepoUploader(opts.repo, opts.root, { chunker: opts.chunker, signal, onProgress: (p) => opts.onPhase?.({ state: 'uploading', ...p }) });
  try {
    const result = paths.length === 0 ? { changed: [], skipped: new Map<string, string>() } : await local.scan(paths, uploader);
    // Vanished paths in a scan that raced the root's removal must not become deletes.
    if (!(await isDir(opts.root))) throw noRoot(opts.root);
    return { scan: result, uploaded: uploader.bytesAdded };
  } catch (err) {
    // The scan's changes are found again by the next full scan.
    await local.reload();
    throw err;
  }
}

/** The one error of a synced folder gone (an unmount, a move), whether a pass or the watcher finds it. */
export function noRoot(root: string): StrataError {
  return new StrataError('E_NO_ROOT', 'the synced folder is missing; sync of it is paused and nothing is deleted', { path: root });
}

export async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
