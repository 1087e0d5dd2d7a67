/**
 * Publishing an org layer: each publish is a new version, a plain snapshot of the folder (the
 * layer is replaced, not extended: a file left out of the new version is gone from it) whose
 * parent is the previous version, and the admin device's head moved to it. What the exclusion
 * rules name is left out, as from a user's folder (walkContext). Where the layer's machines fold
 * case, two names of the folder that differ only in case are parted as a preload parts a
 * template's (template-case.ts), and listed: no machine has to part them when it lays the layer.
 * A folder that holds exactly the latest version's content writes nothing.
 *
 * The previous version is the layer's latest, whichever admin device published it: builds on this
 * device's own last version instead, a version published after another admin's could be dated
 * before it by a clock that runs behind, and would never be laid.
 */
import { resolve } from 'node:path';
import { StrataError } from '../errors.js';
import { timeAfterParents, type Repository, type SnapshotRecord } from '../repo/index.js';
import { FORMAT_VERSION, type BlobId, type Snapshot, type SnapshotId } from '../repo/types.js';
import { caseInsensitiveByDefault } from '../plan/index.js';
import { addBlob } from '../snapshot/context.js';
import type { SnapshotStats } from '../snapshot/index.js';
import { isObjectError } from '../store/index.js';
import { snapshotDir } from '../snapshot/walk.js';
import { asStrataError, checkAdminDevice, checkFolder, walkContext, type LayerWriteOptions } from './preload.js';
import { isOrgLayer } from './profile.js';
import { partByCase, type CasePair } from './template-case.js';

export interface PublishResult {
  /** The layer's latest version after the publish: new, or the latest one when it held the folder already. */
  snapshotId: SnapshotId;
  snapshot: Snapshot;
  /** False when the latest version held exactly the folder's content (nothing was written). */
  changed: boolean;
  /** The folder's walk: its files, and what was skipped (with reasons). */
  stats: SnapshotStats;
  /** What the exclusion rules left out of the folder, sorted (a folder ends in "/"). */
  excluded: string[];
  /** Names of the folder that differ only in case (LayerWriteOptions.caseInsensitive): one kept as a conflict copy. */
  kept: CasePair[];
}

export interface PublishOptions extends LayerWriteOptions {
  /**
   * Refuse (E_EMPTY_VERSION) a folder without a file when the latest version has files: it would
   * take every file of the layer from every machine, and is most often a share that is not
   * mounted or a wrong path. The admin's CLI refuses unless told --force.
   */
  refuseEmpty?: boolean;
}

export async function publishOrgLayer(repo: Repository, layer: string, opts: PublishOptions): Promise<PublishResult> {
  if (!isOrgLayer(layer)) throw new StrataError('E_BAD_LAYER', `${JSON.stringify(layer)} is not an org layer id (org/<name>)`);
  const device = checkAdminDevice(opts.device);
  const root = resolve(opts.from);
  await checkFolder(root, 'the folder to publish');
  // A snapshot's time is when it started: every file it reads was read after it.
  const started = (opts.now ?? (() => new Date()))().getTime();
  await repo.loadIndex();
  const previous = await latestVersion(repo, layer);
  // Each version comes from its own folder: a file of the last version's size and mtime there (a
  // template copied with its dates) may hold other bytes, so every file is read (walkContext
  // trusts no parent). Chunks the bucket has are still not uploaded again; an entry that cannot
  // be read keeps the previous version's copy.
  const excluded: string[] = [];
  const ctx = walkContext(repo, root, opts, excluded);
  try {
    const walked = await snapshotDir(ctx, root, '', previous?.snapshot.root);
    await repo.flush();
    const add = (id: BlobId, bytes: Uint8Array) => addBlob(ctx, 'tree', id, bytes);
    const { root: tree, pairs: kept } = (opts.caseInsensitive ?? caseInsensitiveByDefault()) ? await partByCase(repo, walked, device, add) : { root: walked, pairs: [] };
    await repo.flush();
    // The same content again is no new version: every machine would switch to it for nothing.
    if (previous && tree === previous.snapshot.root) return { snapshotId: previous.id, snapshot: previous.snapshot, changed: false, stats: ctx.stats, excluded: excluded.sort(), kept };
    const { stats } = ctx;
    const had = previous?.snapshot.summary?.files ?? 0;
    if (opts.refuseEmpty && stats.files === 0 && had > 0) {
      throw new StrataError('E_EMPTY_VERSION', `the folder holds no file: published, it would take all ${had} files of ${layer} from every machine (pass --force to publish it)`, { path: root });
    }
    const snapshot: Snapshot = {
      version: FORMAT_VERSION,
      layer,
      device,
      time: timeAfterParents(started, previous ? [previous.snapshot.time] : []),
      root: tree,
      parents: previous ? [previous.id] : [],
      summary: { files: stats.files, dirs: stats.dirs, bytes: stats.bytes, bytesAdded: stats.bytesAdded },
    };
    opts.signal?.throwIfAborted();
    const snapshotId = await repo.saveSnapshot(snapshot);
    await repo.writeHead(layer, device, snapshotId, snapshot.time);
    return { snapshotId, snapshot, changed: true, stats, excluded: excluded.sort(), kept };
  } catch (err) {
    // No chunk job may outlive the call, and the writer must be usable again.
    await ctx.files.idle();
    await repo.abort();
    throw asStrataError(root, err, 'the folder to publish');
  }
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
