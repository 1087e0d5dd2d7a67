/**
 * Restore at sign-in (DESIGN §4): lay the user's effective tree onto home, fast, then record what
 * was laid in the session so that live sync starts from it.
 *
 *   1. read the stack: profile, org layers, user layer (layers.ts), at their latest snapshots;
 *   2. compute the effective tree within the org's folders (effective.ts); on a case-insensitive
 *      disk, of two names that differ only in case one is laid as a conflict copy (foldCase);
 *   3. first contact: settle what home already has (first-contact.ts);
 *   4. restore the "ready" half — hot paths first, then small files, smallest first — and report
 *      `ready` with the time it took and the bytes downloaded, seeded and reused; what the user or
 *      an app writes at a path meanwhile (here and in 5) is kept as a conflict copy, as first
 *      contact keeps home's (restore's `newcomers`), and counted with its copies;
 *   5. restore the rest (large files, smallest first) and report `done`;
 *   6. record the laid user snapshot as this device's head (device-head.ts: the merge base of its
 *      first sync pass), and write the session's `laid`: the agent's lower trees are the org roots
 *      laid here;
 *   7. apply the layer's settings (settings.ts): their files are laid, the mirror takes them into
 *      the machine's settings store; a failure there is reported and does not fail the lay.
 *
 * Once the session records the lay, the trees read in step 1 (those of the layers laid) are written
 * to the folder's tree files (agent/tree-files.ts), alongside step 7: the agent's first pass then
 * fetches none of them again, nor does step 1 of the next sign-in here (layers.ts). Not before: the
 * base record's writer fsyncs the folders it makes,
 * and tree files making them first would leave them not durable. A failure to write them costs that pass its GETs, never the lay.
 *
 * Hot paths are gitignore patterns relative to home, matched like exclusions (a pattern naming a
 * dir covers everything under it: `Desktop/`, `.config/app/`, `*.pst`). Both restores seed from
 * home itself and from `seeds`; a local file is chunked at most once for all of it (chunk-memo.ts).
 * Before ready, only local files of a ready file's size are read (possible copies of ready files:
 * a golden image's large or unrelated files would be chunked before ready for chunks they almost
 * never hold — 2 GiB of them cost 5.7 s of a 19.6 s ready in the sign-in bench), and the files the
 * ready restore wrote are not read back by the rest's seed scan: their chunks are known. The rest
 * does not walk home and the seeds again: it takes the ready restore's walk, in which only the paths
 * that restore wrote are looked at again (a file the user changed since is listed as it was, and at
 * worst fails as a seed: seeded chunks are verified as they are copied, restore/seed.ts).
 * The effective tree is laid from memory (restore's MemoryTree: no tree objects written and read
 * back). The repository is opened over a scratch store (scratch-store.ts), so a sign-in cannot
 * write data to the bucket through it: only this device's snapshot record and head of step 6.
 *
 * Durability and checks, batched (restore/index.ts, Durability): where the file system can be
 * synced as a whole (Linux, where a syncfs of home works as the lay starts), files are not fsynced
 * one by one; one syncfs of home (and of each folder of it mounted from another file system that
 * the restores wrote to) comes before step 6, so `laid` is only ever recorded over durable
 * files, and a failing one fails the lay. Where syncfs fails from the start (no sync(1) with
 * --file-system, the call missing or refused) each file is fsynced before its rename and each
 * folder that changed after, as on other systems, and first contact fsyncs its conflict copies and
 * the folders it changed, as does the removal of a VDI image's files the history held (the
 * folders it removed them from); the marker says which (laying.ts). Files already on disk with the layer's size and mtime are taken as laid without being read (the quick check).
 * Both hold only for a lay that starts clean: `<stateDir>/laying` (laying.ts) is written
 * (durably) before the first change to home and removed after step 6, and a lay that finds it —
 * the last one was cut off, and home may hold files whose metadata reached the disk before their
 * data — reads every file instead, and its first contact replaces a file bearing the layer's mtime
 * (that lay's torn write) instead of keeping it as a conflict copy.
 */
import { lstat, readlink, rm, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { canSyncFileSystem, fsyncDir, isErrno, layerPath, syncFileSystem, trySyncFileSystem } from '../fsutil.js';
import { poolChunkFile, poolChunkFiles } from '../restore/chunk.js';
import { caseInsensitiveFor, contentKey, type DiskNode, type FileNode } from '../plan/index.js';
import { openRepository, type Repository } from '../repo/index.js';
import type { BlobId } from '../repo/types.js';
import { forEachLimit } from '../repo/pool.js';
import { sameMtime } from '../restore/meta.js';
import { restoreTree, type ChunkFileFn, type ChunkFilesFn, type EarlierWalk, type FileStat, type MemoryTree, type RestoreProgress, type RestoreStats } from '../restore/index.js';
import type { ObjectStore } from '../store/index.js';
import { makeExcluder } from '../watch/index.js';
import { layerGraph } from '../agent/history.js';
import { EMPTY_BASE, folderFiles, folderStateDir, indexesDir, readRecordedBase, removeBase, writeBase, type Base } from '../agent/index.js';
import { describeError, isStrataError, shortenMiddle, StrataError } from '../errors.js';
import { loadSettled } from '../agent/settled.js';
import { TreeFiles } from '../agent/tree-files.js';
import { bootTimeMs } from '../temps.js';
import { ChunkMemo } from './chunk-memo.js';
import { recordLaidHead } from './device-head.js';
import { effectiveTree, foldCase, splitReady } from './effective.js';
import { firstContact } from './first-contact.js';
import { sessionExcluder, sessionFolder } from './folder.js';
import { findBase, imageFilesReplaced } from './base.js';
import { HELD_DIR, pathsInHistory } from './history-paths.js';
import { readLayerStack, type ChunkMap, type LayerStack } from './layers.js';
import { ScratchStore } from './scratch-store.js';
import { endLaying, startLaying } from './laying.js';
import { writeSession, type LaidLayer, type Session } from './session.js';
import { sessionSettings, settingsRunner, type SettingsEvent } from './settings.js';
import type { SettingsStore } from '../settings/settings.js';

/** Files up to this size belong to "ready" even outside the hot paths. */
export const SMALL_FILE_BYTES = 1024 * 1024;
/** Hot files sort before every other file whatever their size. */
const HOT = -(2 ** 52);

export interface Transfer {
  files: number;
  bytes: number;
  bytesDownloaded: number;
  bytesSeeded: number;
  bytesReused: number;
}

export type SignInEvent =
  | { type: 'layers'; org: LaidLayer[]; user?: LaidLayer; unpublished: string[]; files: number; bytes: number }
  | ({ type: 'progress'; phase: 'ready' | 'rest' } & RestoreProgress)
  | ({ type: 'ready'; timeToReadyMs: number } & Transfer)
  | ({ type: 'done'; totalMs: number; conflicts: number; removed: number } & Transfer)
  | SettingsEvent;

export interface LayOptions {
  /** The org's bucket (read only: writes go to a scratch store). */
  store: ObjectStore;
  session: Session;
  /** The state dir whose session.json gets `laid`. */
  stateDir: string;
  /** Folders whose files may hold needed chunks, besides home itself (a golden image's copy). */
  seeds?: string[];
  chunkFile?: ChunkFileFn;
  /** Small local files, many at once (default: with the default chunkFile, the worker pool's batches; with another chunkFile, none). */
  chunkFiles?: ChunkFilesFn;
  smallFileBytes?: number;
  concurrency?: number;
  /** Names differing only in case are one name on home's disk (default: under the org's policies.caseInsensitive, or on Windows and macOS). */
  caseInsensitive?: boolean;
  onEvent?: (e: SignInEvent) => void;
  /** Where the org's settings are applied (default: dconf; settings.ts). */
  settingsStore?: SettingsStore;
  /**
   * When this machine started, in ms since the epoch (default: now less the OS's uptime). With no
   * record of the machine, a file changed (ctime) before then is taken for its image's; one changed
   * since may be the user's own, written before this sign-in (lay.ts, the history's paths).
   */
  bootTime?: number;
  /** Milliseconds, for time to ready (default performance.now). */
  clock?: () => number;
  now?: () => Date;
  signal?: AbortSignal;
}

export interface LayResult extends Transfer {
  session: Session;
  timeToReadyMs: number;
  totalMs: number;
  conflicts: { path: string; copy: string }[];
  removed: string[];
  unpublished: string[];
  /** What the user should know about this lay (a damaged record it made anew), one line each. */
  warnings: string[];
  /**
   * Paths of the effective tree not laid, each standing for everything under it: too long under
   * this home (past PATH_MAX; restore/plan.ts leaveOutTooLong). Live sync leaves them alone too, and
   * never takes them for deleted (agent/folder.ts), though this device's head names them.
   */
  tooLong: string[];
}

/** Paths too long to lay that the warnings name one by one (LayResult.tooLong has every one). */
const TOO_LONG_SHOWN = 10;

/** The warning lines for paths too long to lay under `home`: the first few, then a count. */
function tooLongWarnings(home: string, paths: readonly string[]): string[] {
  const why = 'not laid: its path is longer than this system allows (ENAMETOOLONG); it stays in the layer, and live sync leaves it alone here';
  const lines = paths.slice(0, TOO_LONG_SHOWN).map((p) => new StrataError('E_PATH_TOO_LONG', why, { path: shortenMiddle(join(home, p)) }).toString());
  if (paths.length > TOO_LONG_SHOWN) lines.push(`E_PATH_TOO_LONG ${paths.length - TOO_LONG_SHOWN} more paths not laid, too long for this system under ${shortenMiddle(home)}`);
  return lines;
}

function transferOf(s: RestoreStats): Transfer {
  return { files: s.files, bytes: s.bytes, bytesDownloaded: s.bytesDownloaded, bytesSeeded: s.bytesSeeded, bytesReused: s.bytesReused };
}

function add(a: Transfer, b: Transfer): Transfer {
  return { files: a.files + b.files, bytes: a.bytes + b.bytes, bytesDownloaded: a.bytesDownloaded + b.bytesDownloaded, bytesSeeded: a.bytesSeeded + b.bytesSeeded, bytesReused: a.bytesReused + b.bytesReused };
}

function sizeOf(tree: ReadonlyMap<string, DiskNode>): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const n of tree.values()) {
    if (n.type === 'dir') continue;
    files++;
    if (n.type === 'file') bytes += n.size;
  }
  return { files, bytes };
}

export async function layHome(opts: LayOptions): Promise<LayResult> {
  const clock = opts.clock ?? (() => performance.now());
  const start = clock();
  const { session } = opts;
  const emit = (e: SignInEvent): void => opts.onEvent?.(e);
  const repo = await openRepository(new ScratchStore(opts.store), { loadIndex: false, keptIndexes: indexesDir(opts.stateDir) });
  // The indexes (megabytes) load while the profile and the snapshots are read.
  const indexLoading = repo.loadIndex();
  indexLoading.catch(() => undefined);
  const syncingWhole = canSyncWhole();
  syncingWhole.catch(() => undefined);
  const graph = layerGraph(repo, `user/${session.user}`);
  const { baseFile, settledFile, treeDir } = folderFiles(folderStateDir(opts.stateDir, sessionFolder(session, opts.stateDir)));
  const settledRecord = await loadSettled(settledFile);
  const synced = settledRecord?.own || undefined;
  // The org layers home was laid from: the session's; signed out and in again, it names none, and
  // the last synced pass's record does (so a file of theirs an org dropped since is not the user's).
  const previousOrg = [...(session.laid?.org ?? []), ...(session.laid?.orgBefore ?? [])].map((l) => l.root);
  previousOrg.push(...(settledRecord?.lower.split(',').filter((r) => r !== '') ?? []));
  const stack = await readLayerStack(repo, session.user, { device: session.device, ...(synced ? { synced } : {}), previousOrg, graph, indexLoading, keepTrees: true, treeDir });
  const excluder = sessionExcluder(session, opts.stateDir);
  const layable = effectiveTree(stack, excluder);
  const caseInsensitive = opts.caseInsensitive ?? caseInsensitiveFor(session.org.policies.caseInsensitive);
  const { effective, conflicts: caseConflicts } = caseInsensitive ? foldCase(layable, stack) : { effective: layable, conflicts: [] };
  emit({ type: 'layers', org: stack.org.map(laidOf), ...(stack.user ? { user: laidOf(stack.user) } : {}), unpublished: stack.unpublished, ...sizeOf(effective.tree) });

  const warnings: string[] = [];
  // Laid before from this state dir (signed in again, or out and in), the machine may not have been
  // reset: its image is what that lay recorded, not what it left (the user's files would all become
  // whiteouts when deleted); its record, even an empty one (an image with nothing in the folders),
  // names the image, and only paths the layer does not know are added to it, and the files of a new
  // image (reset to one since) that the lay writes over, told by their stat (base.ts). Read before
  // home changes: a record that cannot be read stops the lay before it starts.
  const earlier = session.mode === 'vdi' ? await earlierBase(baseFile, (w) => warnings.push(w)) : undefined;
  const recordedAt = earlier === undefined ? undefined : (await lstat(baseFile)).mtimeMs;
  const bootTime = opts.bootTime ?? bootTimeMs();
  // Over a record, the files the restores write over: a new image's among them are told by their stat after (base.ts imageFilesReplaced).
  const replaced = new Map<string, FileStat>();

  const deferSync = await syncingWhole;
  const clean = await startLaying(opts.stateDir, !deferSync);
  const memo = new ChunkMemo(opts.chunkFile ?? poolChunkFile, opts.chunkFiles ?? (opts.chunkFile ? undefined : poolChunkFiles));
  const params = repo.format.chunker;
  const contentOf = async (path: string): Promise<string> => contentKey((await memo.chunkFile(path, params, repo.format.hash)).chunks.map((c) => c.id));
  const settled = await firstContact({ home: session.home, effective, policy: session.org.policies.firstContact, device: session.device, contentOf, quickCheck: clean, cutOff: !clean, caseInsensitive, concurrency: opts.concurrency, syncEach: !deferSync });

  const hot = makeExcluder(session.org.policies.hotPaths, { defaults: false });
  const isHot = (p: string): boolean => hot(p, false);
  const { ready, rest } = splitReady(effective.tree, isHot, opts.smallFileBytes ?? SMALL_FILE_BYTES);
  // 0 where no layer dates the folder: the restore then leaves it the time it has (restore/meta.ts).
  const dirMtime = (p: string): number => stack.dirMtimes.get(p) ?? 0;
  const treeOf = (nodes: ReadonlyMap<string, DiskNode>): MemoryTree => ({ nodes, chunks: stack.chunks, dirMtime });

  let walked: EarlierWalk | undefined;
  const restore = (root: MemoryTree, phase: 'ready' | 'rest', worth: (size: number) => boolean, priority?: (rel: string, size: number) => number): Promise<RestoreStats> =>
    restoreTree(repo, {
      target: session.home,
      root,
      seeds: opts.seeds,
      chunkFile: memo.only(worth),
      chunkFiles: memo.filesOnly(worth),
      deferSync,
      quickCheck: clean,
      // What the user or an app writes into home while the lay runs is kept beside the layer's version, as first contact keeps home's.
      newcomers: { device: session.device },
      // The rest's restore holds every folder too (splitReady) and sets their metadata once, at the end.
      folderMetaLater: phase === 'ready' && rest.size > 0,
      // First contact just listed home's folders (`seen`: those it changed, as it left them); the ready half's walk then holds all it learned.
      ...(phase === 'ready' ? { listed: settled.listed, seen: settled.seen, onWalked: (w: EarlierWalk) => (walked = w) } : { walked }),
      ...(priority ? { priority } : {}),
      ...(earlier ? { replacing: (rel: string, before: FileStat) => replaced.set(rel, before) } : {}),
      ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
      onProgress: (p) => emit({ type: 'progress', phase, ...p }),
      signal: opts.signal,
    });
  const readySizes = new Set<number>();
  for (const n of ready.values()) if (n.type === 'file') readySizes.add(n.size);
  const firstStats = await restore(treeOf(ready), 'ready', (size) => readySizes.has(size), (rel, size) => (isHot(rel) ? HOT + size : size));
  const first = transferOf(firstStats);
  const timeToReadyMs = clock() - start;
  emit({ type: 'ready', timeToReadyMs, ...first });
  let total = first;
  const movedAside = [...firstStats.movedAside];
  const tooLong = new Set(firstStats.tooLong);
  // Home's file system, and each other one a folder of home is mounted from that the restores wrote to.
  const fileSystems = new Set(firstStats.fileSystems);
  if (rest.size > 0) {
    await rememberLaid(memo, repo, session.home, ready, stack.chunks, opts.concurrency);
    const restStats = await restore(treeOf(rest), 'rest', () => true);
    total = add(first, transferOf(restStats));
    for (const path of restStats.fileSystems) fileSystems.add(path);
    movedAside.push(...restStats.movedAside);
    // Each names paths whose folder fits: none is under another. The rest holds every folder too
    // (splitReady), so one the ready half left out comes again.
    for (const p of restStats.tooLong) tooLong.add(p);
  }
  const notLaid = [...tooLong].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  warnings.push(...tooLongWarnings(session.home, notLaid));
  const conflicts = [...caseConflicts, ...settled.conflicts, ...movedAside].map(({ path, copy }) => ({ path, copy }));
  // A VDI machine's own files: deleting one must hide it from the next session (base.ts).
  const org = (p: string): boolean => stack.user?.tree.has(p) !== true && stack.org.some((l) => l.tree.has(p));
  const versions = [...stack.org.map((l) => l.tree), ...(stack.user ? [stack.user.tree] : []), ...stack.history];
  const laidHere = (p: string, before: FileStat): boolean => versions.some((t) => {
    const n = t.get(p);
    return n?.type === 'file' && sameMtime(before, n.mtimeMs);
  });
  const replacedImage = recordedAt === undefined ? [] : imageFilesReplaced(replaced, { recordedAt, bootTime, laidHere });
  const base =
    session.mode !== 'vdi' ? undefined
    : await findBase({ home: session.home, tree: effective.tree, found: settled.found, exclude: excluder, made: new Set(conflicts.map((c) => c.copy)), org, caseInsensitive, ...(earlier ? { earlier, replacedImage } : {}) });
  // The image's files at paths the layer does not know but once held, and its folders the layer
  // once held that are left empty: the user deleted them (on a machine without this image, so with
  // no whiteout). Hidden again; the base keeps them, so live sync writes their whiteouts
  // (history-paths.ts). What is in a folder goes before the folder. A file goes whatever its bytes
  // only where it is surely the image's, still in the image: on a machine with no earlier record (so
  // not signed in from this state dir since its image was laid down), one the machine had before it
  // started — the user may have saved one of their own since, before signing in, or on a machine
  // whose state dir was lost (there a file saved before the machine last started is taken for the
  // image's, as layer-wins first contact takes it). Any other goes only if the history holds its very bytes:
  // signed in before from this state dir, a file may be the user's own, written while signed out.
  if (base !== undefined && base.unknown.length > 0 && stack.user) {
    const imageBefore = earlier === undefined ? bootTime : undefined;
    let skipped: StrataError | undefined;
    const held = await pathsInHistory(repo, `user/${session.user}`, base.unknown, { caseInsensitive, onSkip: (err) => (skipped ??= err) });
    if (skipped) warnings.push(`the layer's history could not be read in full (${describeError(skipped).split('\n')[0]}): a file deleted on another machine may come back from this machine's image`);
    const changed = new Set<string>();
    for (const p of [...base.unknown].reverse()) {
      const versions = held.get(p);
      if (versions !== undefined && (await removeIfHeld(session.home, p, versions, contentOf, imageBefore))) changed.add(dirname(layerPath(session.home, p)));
    }
    // Durable before `laid` is (syncfs below otherwise): a removal lost in a crash brings the file back as the image's, its whiteout never written.
    if (!deferSync) for (const d of changed) await fsyncDir(d);
  }
  if (deferSync) for (const path of fileSystems) await syncFileSystem(path);
  const totalMs = clock() - start;

  const now = (opts.now ?? (() => new Date()))();
  // The last synced pass's record names the disk as that pass left it; a start whose head is gone
  // merges from its head (agent/folder.ts), which is no longer what the disk holds.
  await rm(settledFile, { force: true });
  if (stack.user) await recordLaidHead(repo, opts.store, laidOf(stack.user), session.device, now, graph);
  const laid = { org: stack.org.map(laidOf), ...(stack.user ? { user: laidOf(stack.user) } : {}), time: now.toISOString() };
  const updated: Session = { ...session, laid };
  if (base === undefined) await removeBase(baseFile);
  else await writeBase(baseFile, base);
  // Both removals durable before `laid` is: a settled record back after a crash would name the old disk.
  await fsyncDir(dirname(settledFile));
  await writeSession(opts.stateDir, updated);
  await endLaying(opts.stateDir);
  // Only now: the folders the base record above made are fsynced by its writer only where it made
  // them, so the tree files must not make them first.
  const keeping = keepTrees(treeDir, repo, stack.laidTrees);
  // The layer's settings into the machine's store, now that their files are laid (7).
  const mirror = sessionSettings(updated, opts.stateDir, opts.settingsStore);
  if (mirror) await settingsRunner(mirror, emit)();
  await keeping;
  emit({ type: 'done', totalMs, conflicts: conflicts.length, removed: settled.removed.length, ...total });
  return { session: updated, ...total, timeToReadyMs, totalMs, conflicts, removed: settled.removed, unpublished: stack.unpublished, warnings, tooLong: notLaid };
}

/**
 * Whether syncfs works here: tried once (Linux), alongside the reading of the layers, on /proc,
 * which has nothing to write. A syncfs of home's own file system would wait for whatever the
 * machine has not written yet (a golden image just deployed: hundreds of megabytes) before the
 * first file is laid; what this tells — sync(1) there with --file-system, the call there — is
 * the same. A file system that refuses it at the end fails the lay (E_SYNC_FS).
 */
async function canSyncWhole(): Promise<boolean> {
  return canSyncFileSystem() && trySyncFileSystem('/proc/self');
}

/**
 * The base an earlier lay from this state dir recorded (undefined: none). A damaged record is taken
 * as one naming none of the paths the layer has, and said so (`warn`): refusing would leave the user
 * nothing safe to do — a record moved aside makes the next lay find the base anew from the disk,
 * where the files the last lay and the user left then all count as the image's (deleting one would
 * write a whiteout that can hide an org file on every machine). Taken as empty, no file is ever
 * mislabelled: only what every lay over a record adds is added (paths the layer does not know, a
 * new image's files told by their stat); the cost is that the image's files the layer has lose
 * their whiteout on delete (a deleted one may come back on a reset machine: shown, never hidden) —
 * what the agent's own advice for the same damage, moving the record aside, gives it.
 */
async function earlierBase(file: string, warn: (message: string) => void): Promise<Base | undefined> {
  try {
    return await readRecordedBase(file);
  } catch (err) {
    if (!isStrataError(err, 'E_BAD_STATE')) throw err;
    warn(`${file}: the record of the machine's own files was damaged; it is made anew without the files the layer has (deleting one of those no longer hides the image's copy from the next session)`);
    return EMPTY_BASE;
  }
}

/**
 * At `rel`, a path the history held (found by findBase's walk, which follows no link): removes the
 * file or link there if it holds one of `versions` (history-paths.ts), or whatever it holds if it
 * was last changed before `imageBefore` (the image's); the folder there if it is empty, and the
 * history held one there or the machine has no record (`imageBefore` given). True if it removed
 * something: its folder's entries changed.
 */
async function removeIfHeld(home: string, rel: string, versions: ReadonlySet<string>, contentOf: (path: string) => Promise<string>, imageBefore?: number): Promise<boolean> {
  const path = layerPath(home, rel);
  const st = await lstat(path).catch(() => undefined);
  if (st === undefined) return false;
  if (st.isDirectory()) {
    // An empty folder holds nothing to lose (its ctime changed as what was in it went).
    if (imageBefore === undefined && !versions.has(HELD_DIR)) return false;
    return rmdir(path).then(
      () => true,
      (err: unknown) => {
        // Something is left in it (not the user's deleted files): it is the image's, and stays.
        if (!isErrno(err, 'ENOTEMPTY', 'EEXIST', 'ENOENT')) throw err;
        return false;
      },
    );
  }
  if (!st.isFile() && !st.isSymbolicLink()) return false;
  const image = imageBefore !== undefined && st.ctimeMs < imageBefore;
  const version = image ? undefined : st.isFile() ? await contentOf(path).catch(() => undefined) : `->${await readlink(path).catch(() => '')}`;
  if (!image && (version === undefined || !versions.has(version))) return false;
  await rm(path, { force: true });
  return true;
}

/**
 * Keeps the trees the lay read in the folder's tree files (agent/tree-files.ts), where the agent's
 * first pass finds them instead of fetching them again. Started once home is ready, so it never
 * delays that; the files only ever save requests, so a failure to write them fails nothing.
 */
function keepTrees(dir: string, repo: Repository, trees: readonly (readonly [BlobId, Uint8Array])[]): Promise<void> {
  return new TreeFiles(dir, repo.format.hash).writeAll(trees).catch(() => undefined);
}

/** The files the ready restore laid hold exactly their chunks: the memo learns those the rest's seed scan would read. */
async function rememberLaid(memo: ChunkMemo, repo: Repository, home: string, ready: ReadonlyMap<string, DiskNode>, chunks: ChunkMap, concurrency = 8): Promise<void> {
  const params = repo.format.chunker;
  const files: [string, FileNode][] = [];
  for (const [rel, n] of ready) if (n.type === 'file' && n.size > params.minSize) files.push([rel, n]);
  await forEachLimit(files, concurrency, async ([rel, n]) => {
    let offset = 0;
    const list = (chunks.get(n.content) ?? []).map((id) => {
      const chunk = { id, offset, length: repo.blobLocation(id)?.length ?? Number.NaN };
      offset += chunk.length;
      return chunk;
    });
    // A file moved or changed since it was laid is simply not remembered.
    if (offset === n.size) await memo.remember(join(home, rel), params, repo.format.hash, { size: n.size, chunks: list }).catch(() => undefined);
  });
}

function laidOf(l: LayerStack['org'][number]): LaidLayer {
  return { layer: l.layer, snapshot: l.snapshot, root: l.root };
}
