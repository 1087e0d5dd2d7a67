/**
 * Preload: an admin fills a user's layer from a template folder before the user's first sign-in,
 * or adds a template to a layer that already has content.
 *
 * What must hold:
 * - Nothing already in the layer is lost: the new snapshot is the layer's latest snapshot with the
 *   template laid over it (overlay-trees.ts); paths only the layer has stay. Before anyone signed
 *   in (every head an admin's) the layer's versions are the admins' own, and the template wins on
 *   a path both have. Once a device has a head, a version there may be the user's, and must not be
 *   replaced silently (DESIGN §3): where the template has other content, both are kept, the
 *   template's beside the user's as a conflict copy (`kept`). Its parent is that latest snapshot,
 *   so every device merges it as a descendant of what it already has (additions, never deletions).
 * - A normal snapshot and head: `layers/user/<id>/heads/<admin device>`, written in the order of
 *   DESIGN §2 (blobs flushed, then the snapshot, then the head). No intermediate head ever points
 *   at the template alone, which devices would read as the deletion of everything else.
 * - Nothing the layer hides comes back: a template folder where the user deleted one (or made a
 *   file of it) keeps hiding what the org layers the profile assigns show there, at their latest
 *   versions (overlay-trees.ts). A machine's own files (a VDI image's) are in no layer, so a
 *   template folder over a deleted one of the image's does not hide them.
 * - The template is read whole, without a stat cache: its files come from another machine than
 *   the layer's, so an equal size and mtime says nothing about equal content.
 */
import { opendir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { StrataError } from '../errors.js';
import { overlay } from '../overlay/index.js';
import { directories, flatten } from '../plan/index.js';
import { checkDeviceId, timeAfterParents, type Repository } from '../repo/index.js';
import { FORMAT_VERSION, keys, type BlobId, type Snapshot, type SnapshotId } from '../repo/types.js';
import type { FileChunker, SnapshotProgress, SnapshotStats } from '../snapshot/index.js';
import { addBlob, type Context } from '../snapshot/context.js';
import { errnoOf } from '../snapshot/listing.js';
import { newContext } from '../snapshot/snapshot.js';
import { snapshotDir } from '../snapshot/walk.js';
import { makeExcluder } from '../watch/index.js';
import { countTree, loadAllTrees, overlayTrees, treeOf, type BelowDirs, type KeptBoth } from './overlay-trees.js';
import { assignedLayers, checkUserId, readProfile } from './profile.js';

/** The device id admin writes use unless another is given: the head is `…/heads/admin`. */
export const ADMIN_DEVICE = 'admin';

/**
 * Admin writes use `admin` or `admin-<name>` as their device id, and no signed-in device has such
 * an id (an agent's is 16 base32 characters), so a report can tell a preload's head from a device's.
 */
export function isAdminDevice(device: string): boolean {
  return device === ADMIN_DEVICE || device.startsWith(`${ADMIN_DEVICE}-`);
}

/** The device id of an admin write: `opts.device` or ADMIN_DEVICE; E_BAD_DEVICE unless isAdminDevice. */
export function checkAdminDevice(device: string | undefined): string {
  const id = checkDeviceId(device ?? ADMIN_DEVICE);
  if (!isAdminDevice(id)) throw new StrataError('E_BAD_DEVICE', `admin writes must use device id ${ADMIN_DEVICE} or ${ADMIN_DEVICE}-<name>, not ${JSON.stringify(id)}: admin users tells them from users' devices by it`);
  return id;
}

export interface LayerWriteOptions {
  /** The folder to read. */
  from: string;
  /** Default ADMIN_DEVICE; else `admin-<name>` (isAdminDevice). Two admins writing at once should use different ids (one writer per head). */
  device?: string;
  chunker?: FileChunker;
  onProgress?: (p: SnapshotProgress) => void;
  /** The clock for the snapshot's time (default: the system clock). */
  now?: () => Date;
  signal?: AbortSignal;
  /**
   * Exclusion rules (gitignore syntax, relative to the layer root, as the org config's
   * policies.exclude) on top of the built-in defaults (DEFAULT_EXCLUDES), which always apply.
   */
  exclude?: readonly string[];
  /**
   * The folders under home that make up a layer (the org config's, signin/folder.ts layerFolders),
   * `/` separated; absent or ['.'], the whole folder read.
   */
  folders?: readonly string[];
}

export interface PreloadResult {
  layer: string;
  /** The layer's snapshot after the preload: new, or the latest one when the template added nothing. */
  snapshotId: SnapshotId;
  snapshot: Snapshot;
  /** False when the layer already held exactly the template's content (nothing was written). */
  changed: boolean;
  /** The snapshot it extended, if the layer had one. */
  extended: SnapshotId | undefined;
  /** The template's walk: its files, and what was skipped (with reasons). */
  stats: SnapshotStats;
  /** What the exclusion rules left out of the template, sorted (a folder ends in "/"). */
  excluded: string[];
  /** Paths where the layer's version (maybe the user's) and the template's differ: both kept, one as `copy`. */
  kept: KeptBoth[];
}

/** The folder to read must be a readable directory (E_NO_ROOT otherwise); `what` names it in errors. */
export async function checkFolder(path: string, what = 'the template folder'): Promise<void> {
  const fail = (why: string, cause?: unknown) => new StrataError('E_NO_ROOT', `${what} ${why}`, { path }, { cause });
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    throw fail('does not exist or cannot be read', err);
  }
  if (!st.isDirectory()) throw fail('is not a directory');
  try {
    await (await opendir(path)).close();
  } catch (err) {
    throw fail(`cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, err);
  }
}

/**
 * The walk of a folder into a layer, leaving out what the exclusion rules name (a folder with all
 * it holds) and what lies outside the layer's folders, and noting it in `excluded`: what a device
 * would never sync or lay must not reach the layer from a template either (an Office lock file,
 * .DS_Store, a browser cache, a folder the org config does not list).
 */
export function walkContext(repo: Repository, root: string, opts: LayerWriteOptions, excluded: string[]): Context {
  const rules = makeExcluder(opts.exclude ?? []);
  const folders = opts.folders === undefined || opts.folders.includes('.') ? undefined : opts.folders;
  // Inside a folder, or a folder on the way to one (its other entries are outside).
  const within = (rel: string, isDir: boolean): boolean => folders === undefined || folders.some((f) => rel === f || rel.startsWith(`${f}/`) || (isDir && f.startsWith(`${rel}/`)));
  const exclude = (rel: string, isDir: boolean): boolean => {
    if (within(rel, isDir) && !rules(rel, isDir)) return false;
    excluded.push(isDir ? `${rel}/` : rel);
    return true;
  };
  return newContext(repo, root, { chunker: opts.chunker, exclude, onProgress: opts.onProgress, signal: opts.signal });
}

/** Creates or extends layer `user/<user>` with the template folder `opts.from`. */
export async function preloadUserLayer(repo: Repository, user: string, opts: LayerWriteOptions): Promise<PreloadResult> {
  const layer = `user/${checkUserId(user)}`;
  const device = checkAdminDevice(opts.device);
  const root = resolve(opts.from);
  await checkFolder(root);
  await repo.loadIndex();
  // Every head unreadable throws here: extending a layer that cannot be read would drop its files.
  const latest = await repo.latestSnapshot(layer);
  // A head that cannot be read is taken for a device's: the user's versions are kept either way.
  const { heads, errors } = await repo.listHeads(layer);
  const signedIn = errors.length > 0 || heads.some((h) => !isAdminDevice(h.device));
  const kept: KeptBoth[] = [];
  const excluded: string[] = [];
  const ctx = walkContext(repo, root, opts, excluded);
  try {
    const template = await snapshotDir(ctx, root, '', undefined);
    await repo.flush();
    const trees = await loadAllTrees(repo, latest ? [template, latest.snapshot.root] : [template], new Map(), new Map(latest ? [[latest.snapshot.root, keys.snapshot(layer, latest.id)]] : []));
    const save = (id: BlobId, bytes: Uint8Array) => addBlob(ctx, 'tree', id, bytes);
    const keepBoth = signedIn && latest ? { upperDevice: device, lowerDevice: latest.snapshot.device, kept } : undefined;
    const merged = await overlayTrees(trees, latest?.snapshot.root, template, save, repo.format.hash, { below: orgDirs(repo, user), ...(keepBoth ? { keepBoth } : {}) });
    await repo.flush();
    if (latest && merged === latest.snapshot.root) {
      return { layer, snapshotId: latest.id, snapshot: latest.snapshot, changed: false, extended: latest.id, stats: ctx.stats, excluded: excluded.sort(), kept };
    }
    const snapshot: Snapshot = {
      version: FORMAT_VERSION,
      layer,
      device,
      // Never before the snapshot it extends, whatever the admin's clock says.
      time: timeAfterParents((opts.now ?? (() => new Date()))().getTime(), latest ? [latest.snapshot.time] : []),
      root: merged,
      parents: latest ? [latest.id] : [],
      summary: { ...countTree(trees, merged), bytesAdded: ctx.stats.bytesAdded },
    };
    opts.signal?.throwIfAborted();
    const snapshotId = await repo.saveSnapshot(snapshot);
    await repo.writeHead(layer, device, snapshotId, snapshot.time);
    return { layer, snapshotId, snapshot, changed: true, extended: latest?.id, stats: ctx.stats, excluded: excluded.sort(), kept };
  } catch (err) {
    // No chunk job may outlive the call, and the writer must be usable again.
    await ctx.files.idle();
    await repo.abort();
    throw asStrataError(root, err);
  }
}

/** The dirs the org layers assigned to `user` show at their latest versions, read when first asked. */
function orgDirs(repo: Repository, user: string): BelowDirs {
  let dirs: Promise<Map<string, Map<string, boolean>>> | undefined;
  const read = async (): Promise<Map<string, Map<string, boolean>>> => {
    const layers = assignedLayers(await readProfile(repo.store, user));
    const latest = await Promise.all(layers.map((layer) => repo.latestSnapshot(layer)));
    const named = new Map(latest.flatMap((l, i) => (l ? [[l.snapshot.root, keys.snapshot(layers[i] as string, l.id)] as const] : [])));
    const roots = latest.flatMap((l) => (l ? [l.snapshot.root] : []));
    const trees = await loadAllTrees(repo, roots, new Map(), named);
    const shown = overlay(roots.map((root) => flatten(treeOf(trees, root), (id) => treeOf(trees, id))));
    return new Map(directories(shown).map(([dir, entries]) => [dir, new Map(entries.map(([name, node]) => [name, node.type === 'dir']))]));
  };
  return async (dir) => (await (dirs ??= read())).get(dir);
}

/** A file system error no single entry of the folder explains (EMFILE, ENOSPC …) as a typed error. */
export function asStrataError(root: string, err: unknown, what = 'the template'): unknown {
  const code = errnoOf(err);
  if (err instanceof StrataError || code === undefined) return err;
  return new StrataError('E_SNAPSHOT_READ', `file system error while reading ${what} (${code})`, { path: (err as NodeJS.ErrnoException).path ?? root }, { cause: err });
}
