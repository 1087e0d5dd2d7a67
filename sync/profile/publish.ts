/**
 * Publishing an org layer: each publish is a new version, a plain snapshot of the folder (the
 * layer is replaced, not extended: a file left out of the new version is gone from it) whose
 * parent is the previous version, and the admin device's head moved to it.
 *
 * The previous version is the layer's latest, whichever admin device published it: builds on this
 * device's own last version instead, a version published after another admin's could be dated
 * before it by a clock that runs behind, and would never be laid.
 */
import { StrataError } from '../errors.js';
import type { Repository, SnapshotRecord } from '../repo/index.js';
import { isObjectError } from '../snapshot/parent.js';
import { takeSnapshot, type SnapshotResult } from '../snapshot/index.js';
import { ADMIN_DEVICE, type LayerWriteOptions } from './preload.js';
import { isOrgLayer } from './profile.js';

export async function publishOrgLayer(repo: Repository, layer: string, opts: LayerWriteOptions): Promise<SnapshotResult> {
  if (!isOrgLayer(layer)) throw new StrataError('E_BAD_LAYER', `${JSON.stringify(layer)} is not an org layer id (org/<name>)`);
  return takeSnapshot(repo, {
    root: opts.from,
    parent: (await latestVersion(repo, layer))?.id,
    layer,
    device: opts.device ?? ADMIN_DEVICE,
    chunker: opts.chunker,
    // Each version comes from its own folder: a file of the last version's size and mtime there
    // (a template copied with its dates) may hold other bytes, so every file is read. Chunks the
    // bucket has are still not uploaded again.
    statCache: false,
    onProgress: opts.onProgress,
    now: opts.now,
    signal: opts.signal,
  });
}

/** The layer's latest version; undefined when it has none, or none whose head reads (nothing to build on). */
async function latestVersion(repo: Repository, layer: string): Promise<SnapshotRecord | undefined> {
  try {
    return await repo.latestSnapshot(layer);
  } catch (err) {
    if (!isObjectError(err)) throw err;
    return undefined;
  }
}
