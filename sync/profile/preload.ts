/**
 * Preload: an admin fills a user's layer from a template folder before the user's first sign-in,
 * or adds a template to a layer that already has content.
 *
 * What must hold:
 * - Nothing already in the layer is lost: the new snapshot is the layer's latest snapshot with the
 *   template merged in; paths only the layer has stay. Before anyone signed in (every head an
 *   admin's) the layer's versions are the admins' own, and the template wins on a path both have.
 *   Once a device has a head, the merge is the sync engine's three-way merge (DESIGN §3, merge3),
 *   its base what this admin device's earlier templates wrote (the template record,
 *   preload-merge.ts): where the user left the last template's version, the new template's
 *   replaces it; where the user changed it and the template did too, both are kept, the newer at
 *   the name, the other beside it as a conflict copy (`kept`); where only the user changed it,
 *   theirs stays. A later template version of such a path replaces the last template's copy the
 *   user left untouched, rather than adding one more copy per update (template-merge.ts). A file the user deleted stays deleted while the template has it as before, and
 *   comes back when the template brings a new version of it (an edit wins over a delete: the
 *   admin's update is not lost). A template's file of the same bytes and mode as before is no new
 *   version, whatever its mtime. Its parents are that latest snapshot (and this admin device's
 *   head when that is not an ancestor of it), then the record, so every device merges it as a
 *   descendant of what it already has.
 * - Two preloads at once as the same device (one head, one writer: DESIGN §2): the head is read
 *   again just before it is written, and a preload that finds it moved refuses (E_HEAD_MOVED)
 *   rather than put the other's template out of every head's history. No conditional write
 *   exists (Swift answers 501), so the window between that read and the write (one request)
 *   remains: two admins should preload with devices of their own (`admin-<name>`).
 * - A normal snapshot and head: `layers/user/<id>/heads/<admin device>`, written in the order of
 *   DESIGN §2 (blobs flushed, then the snapshot, then the head). No intermediate head ever points
 *   at the template alone, which devices would read as the deletion of everything else.
 * - Nothing the layer hides comes back: a template folder where the user deleted one (or made a
 *   file of it) keeps hiding what the org layers the profile assigns show there, at their latest
 *   versions (template-merge.ts). A machine's own files (a VDI image's) are in no layer, so a
 *   template folder over a deleted one of the image's does not hide them.
 * - The template is read whole, without a stat cache: its files come from another machine than
 *   the layer's, so an equal size and mtime says nothing about equal content.
 */
import { opendir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { StrataError } from '../errors.js';
import { overlay } from '../overlay/index.js';
import { caseInsensitiveByDefault, directories, flatten, merge3, type Node } from '../plan/index.js';
import { checkDeviceId, timeAfterParents, type Repository } from '../repo/index.js';
import { FORMAT_VERSION, keys, type BlobId, type Head, type Snapshot, type SnapshotId } from '../repo/types.js';
import type { FileChunker, SnapshotProgress, SnapshotStats } from '../snapshot/index.js';
import { addBlob, type Context } from '../snapshot/context.js';
import { errnoOf } from '../snapshot/listing.js';
import { newContext } from '../snapshot/snapshot.js';
import { snapshotDir } from '../snapshot/walk.js';
import { makeExcluder } from '../watch/index.js';
import { layerGraph } from '../agent/history.js';
import { summaryOf } from '../agent/commit.js';
import { writeFlatTree } from '../agent/trees.js';
import { loadAllTrees, treeOf } from './load-trees.js';
import { readSides } from './preload-merge.js';
import { caseHolder, partByCase } from './template-case.js';
import { dropSupersededCopies, keepHiding, sameTree, templateOver, type BelowDirs } from './template-merge.js';
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
  /**
   * Whether names equal under case folding are one file (as a sync device takes it: default
   * caseInsensitiveByDefault(), Windows and macOS): a folder holding `README.txt` and `Readme.txt`
   * is then written with one of them and the other as its conflict copy (template-case.ts), and a
   * preload's template `Readme.txt` over the user's `README.txt` keeps both, one as a conflict
   * copy: never two names one machine cannot hold.
   */
  caseInsensitive?: boolean;
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
  /**
   * Paths where the user and the template both changed a file, and names that differ only in case
   * (`caseOf`): both kept, one as `copy`, the version of `copyOf`.
   */
  kept: KeptBoth[];
}

/**
 * Both versions of a path kept: `path` holds one, `copy` (a conflict copy) the other, the
 * template's or the layer's. Where the two were names that differ only in case, `caseOf` is the
 * one that holds the other version (template-case.ts CasePair).
 */
export interface KeptBoth {
  path: string;
  copy: string;
  copyOf: 'template' | 'layer';
  caseOf?: string;
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
  const users = heads.filter((h) => !isAdminDevice(h.device)).sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
  const signedIn = errors.length > 0 || users.length > 0;
  // Read by its key, as it is read again before it is written (writeOwnHead).
  const own = await repo.readHead(layer, device);
  const now = (opts.now ?? (() => new Date()))().getTime();
  const excluded: string[] = [];
  const ctx = walkContext(repo, root, opts, excluded);
  const done = (snapshotId: SnapshotId, snapshot: Snapshot, changed: boolean, kept: KeptBoth[] = []): PreloadResult => ({ layer, snapshotId, snapshot, changed, extended: latest?.id, stats: ctx.stats, excluded: excluded.sort(), kept });
  const caseInsensitive = opts.caseInsensitive ?? caseInsensitiveByDefault();
  const add = (id: BlobId, bytes: Uint8Array) => addBlob(ctx, 'tree', id, bytes);
  try {
    const walked = await snapshotDir(ctx, root, '', undefined);
    if (caseInsensitive) await repo.flush();
    const { root: template, pairs } = caseInsensitive ? await partByCase(repo, walked, device, add) : { root: walked, pairs: [] };
    await repo.flush();
    const keptParted = pairs.map((c): KeptBoth => ({ ...c, copyOf: 'template' }));
    if (!latest) {
      const trees = await loadAllTrees(repo, [template]);
      const tree = flatten(treeOf(trees, template), (id) => treeOf(trees, id));
      const snapshot: Snapshot = { version: FORMAT_VERSION, layer, device, time: new Date(now).toISOString(), root: template, parents: [], summary: { ...summaryOf(tree), bytesAdded: ctx.stats.bytesAdded } };
      const snapshotId = await repo.saveSnapshot(snapshot);
      await writeOwnHead(repo, snapshot, snapshotId, own);
      return done(snapshotId, snapshot, true, keptParted);
    }
    const sides = await readSides(repo, layerGraph(repo, layer), latest, own, template, users[0]?.device ?? latest.snapshot.device, caseInsensitive);
    const record = templateOver(sides.record, sides.template, caseInsensitive);
    const conflicts = [...sides.conflicts];
    let merged: Map<string, Node>;
    if (signedIn) {
      // DESIGN §3, the template side against what the templates wrote before: a path only the
      // template changed takes its version, one only the user changed keeps theirs, both → both.
      const r = merge3(sides.record, record, sides.layer, { mine: device, theirs: users[0]?.device ?? latest.snapshot.device, caseInsensitive });
      merged = r.merged;
      conflicts.push(...r.conflicts);
      dropSupersededCopies(merged, sides.record, record, sides.layer, device);
    } else {
      merged = templateOver(sides.layer, sides.template, caseInsensitive);
    }
    await keepHiding(merged, sides.layer, orgDirs(repo, user));
    if (sameTree(merged, sides.latest)) return done(latest.id, latest.snapshot, false);

    const recordRoot = await writeFlatTree(repo, record, sides.chunks, add);
    const mergedRoot = await writeFlatTree(repo, merged, sides.chunks, add);
    await repo.flush();
    const recordSnapshot: Snapshot = {
      version: FORMAT_VERSION,
      layer,
      device,
      time: timeAfterParents(now, sides.recordTime ? [sides.recordTime] : []),
      root: recordRoot,
      parents: sides.recordId ? [sides.recordId] : [],
      summary: { ...summaryOf(record), bytesAdded: 0 },
    };
    const recordId = await repo.saveSnapshot(recordSnapshot);
    const snapshot: Snapshot = {
      version: FORMAT_VERSION,
      layer,
      device,
      // Never before the snapshots it extends, whatever the admin's clock says.
      time: timeAfterParents(now, [...sides.parents.map((p) => p.snapshot.time), recordSnapshot.time]),
      root: mergedRoot,
      // The record last: the next preload finds it there (preload-merge.ts).
      parents: [...sides.parents.map((p) => p.id), recordId],
      summary: { ...summaryOf(merged), bytesAdded: ctx.stats.bytesAdded },
    };
    opts.signal?.throwIfAborted();
    const snapshotId = await repo.saveSnapshot(snapshot);
    await writeOwnHead(repo, snapshot, snapshotId, own);
    const kept = [...keptParted, ...conflicts.map((c): KeptBoth => {
      const caseOf = caseHolder(merged, c);
      return { path: c.path, copy: c.copy, copyOf: c.device === device ? 'template' : 'layer', ...(caseOf !== undefined ? { caseOf } : {}) };
    })];
    return done(snapshotId, snapshot, true, kept);
  } catch (err) {
    // No chunk job may outlive the call, and the writer must be usable again.
    await ctx.files.idle();
    await repo.abort();
    throw asStrataError(root, err);
  }
}

/**
 * Points this admin device's head at `snapshotId`, unless the head moved since the preload read it
 * (`own`): another preload as the same device ran meanwhile, and writing over its head would leave
 * its template in no head's history (E_HEAD_MOVED; run again, the preload merges it in).
 */
async function writeOwnHead(repo: Repository, snapshot: Snapshot, snapshotId: SnapshotId, own: Head | undefined): Promise<void> {
  const { layer, device } = snapshot;
  const now = await repo.readHead(layer, device);
  if (now?.snapshot !== own?.snapshot) {
    const was = own ? `at ${own.snapshot.slice(0, 12)}` : 'absent';
    throw new StrataError('E_HEAD_MOVED', `another preload as device ${device} moved this head while this one ran (it was ${was}): nothing was written; run the preload again, and give admins who preload at once their own --device ${ADMIN_DEVICE}-<name>`, { key: keys.head(layer, device) });
  }
  await repo.writeHead(layer, device, snapshotId, snapshot.time);
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
