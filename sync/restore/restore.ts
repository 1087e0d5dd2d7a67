/**
 * restoreTree / restoreSnapshot: plan (from tree objects, or a tree in memory) → entries of
 * another kind moved aside (`aside`) → folders → one walk of the target and seeds → files and
 * links to replace whose version the layer lacks kept as copies (`aside`) → seed copy →
 * downloads → links → folder metadata. See index.ts for what must hold.
 *
 * Per-file costs dominate a restore of many small files, so chunking, copies and downloads run
 * `concurrency` at a time. The target is walked once, for the seeds, for what is on disk at each
 * planned path and for temp leftovers; folders the restore creates itself are known to be empty
 * and are not walked, and one already there is looked at once (the walk takes the lstat of its
 * check); given an earlier restore's walk of the same target and seeds (`walked`), it is not walked
 * again, and only the paths that restore wrote are looked at. A new file costs create, write(s), fchmod, futimes, close and rename (no truncate, no
 * reopen: files completed from seeds are sealed while their handle is still open); a new folder
 * costs mkdir, then open, fchmod, futimes, close at the end. Where the file system can be synced
 * as a whole, one syncfs at the end (and one before the renames of each batch of files that replace
 * files) makes all of it durable (see index.ts, Durability); elsewhere each file and each changed
 * folder is fsynced. Calls that take microseconds on a local disk (lstat, mkdir, a one-chunk file's whole write,
 * folder metadata) are made synchronously, in slices that let downloads run between them: a
 * thread-pool round trip per call cost three times the call itself.
 */
import type { Stats } from 'node:fs';
import { lstat, realpath, rm } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { StrataError, describeError, shortenMiddle } from '../errors.js';
import { canSyncFileSystem, isErrno, makeDirs, syncFileSystem, trySyncFileSystem } from '../fsutil.js';
import { tempInUse } from '../temps.js';
import { forEachLimit } from '../repo/pool.js';
import type { Repository } from '../repo/repository.js';
import { keys, type BlobId, type SnapshotId } from '../repo/types.js';
import { keepChanged, moveAsideOtherKinds, moveToCopy, seenBefore, undoKept, type Kept, type MovedAside } from './aside.js';
import { Assembly, type Durability, type Placing } from './assembly.js';
import { poolChunkFile, poolChunkFiles, repoHash } from './chunk.js';
import { download, type Counters, type Work } from './fill.js';
import { ensureDirs, lstatNow, pathInside, removeTemps } from './fsutil.js';
import { finishDirs, fixFileMeta, restoreLink, sameMode, sameMtime } from './meta.js';
import { buildPlan, leaveOutTooLong, planMemoryTree } from './plan.js';
import { foldKey } from '../plan/casefold.js';
import { RangeCache } from './ranges.js';
import { fileStat, scanSeeds, walkAgain, walkSeeds, type FileStat, type Found, type SeedIndex, type SeedWalk } from './seed.js';
import { copySeeded } from './seedcopy.js';
import type { Plan, PlannedFile, PlannedLink, RestoreOptions, RestoreStats } from './types.js';

const DEFAULT_CONCURRENCY = 8;

/**
 * Makes the restore target folder, and any missing parent, and returns its real path; E_BAD_TARGET
 * naming it when that is not a folder or cannot be made there (never an endless mkdir: makeDirs).
 */
export async function prepareTarget(target: string): Promise<string> {
  const notFolder = (why: string) => new StrataError('E_BAD_TARGET', why, { path: target });
  try {
    await makeDirs(resolve(target));
  } catch (err) {
    // A file where the target or one of its parents should be: mkdir says only EEXIST or ENOTDIR.
    if (isErrno(err, 'EEXIST', 'ENOTDIR')) throw notFolder('restore target is not a folder, or a file stands where one of its parent folders should be');
    // A parent that exists but takes no new folder (/proc, a read-only or special file system).
    if (isErrno(err, 'ENOENT', 'EACCES', 'EPERM', 'EROFS')) throw notFolder(`restore target folder cannot be created there (${(err as NodeJS.ErrnoException).code})`);
    throw err;
  }
  const real = await realpath(resolve(target));
  if (!(await lstat(real)).isDirectory()) throw notFolder('restore target is not a folder');
  return real;
}

function sameChunks(a: readonly BlobId[] | undefined, b: readonly BlobId[]): boolean {
  return a !== undefined && a.length === b.length && a.every((id, i) => id === b[i]);
}

class Restore {
  readonly counters: Counters = { bytesSeeded: 0, bytesDownloaded: 0 };
  readonly stats: RestoreStats;
  private filesDone = 0;
  readonly concurrency: number;
  /** Files to write where the target has something (classify): their renames replace it. */
  readonly replacing = new Set<PlannedFile>();
  /** What the walk saw at the path of each file to write, where it saw a regular file or something else that is no folder (`newcomers`); of a link, what keepChanged kept. */
  private readonly found = new Map<PlannedFile | PlannedLink, Found>();
  /** Temp files a crashed restore left in planned folders: seeds until the seed copy is done. */
  private readonly leftovers: string[] = [];
  /** The walk of the target and seeds (seedIndex), and the paths written since: what `onWalked` tells. */
  walk: SeedWalk | undefined;
  readonly wrote = new Set<string>();

  constructor(
    private readonly repo: Repository,
    private readonly opts: RestoreOptions,
    private readonly plan: Plan,
    private readonly gets0: number,
    tooLong: string[],
    /** Each file and changed folder is fsynced (no syncfs here, and no deferSync). */
    private readonly syncEach: boolean,
  ) {
    this.concurrency = Math.max(1, opts.concurrency ?? DEFAULT_CONCURRENCY);
    this.stats = {
      files: plan.files.length,
      dirs: plan.dirs.filter((d) => d.entry).length,
      symlinks: plan.links.length,
      bytes: plan.bytes,
      bytesDownloaded: 0,
      bytesSeeded: 0,
      bytesReused: 0,
      gets: 0,
      filesSkippedComplete: 0,
      movedAside: [],
      tooLong,
      fileSystems: [],
    };
  }

  /**
   * One walk of the target and the seeds (folders the restore just created are empty but for other
   * new folders: not walked): temp leftovers in planned folders are removed, what is on disk at each
   * planned path is known, and the seed files are chunked for the needed chunks.
   */
  async seedIndex(target: string, created: ReadonlySet<string>, existing: ReadonlyMap<string, Stats>): Promise<{ index: SeedIndex; onDisk: (FileStat | undefined)[]; quick: Set<string> }> {
    // Restoring one path, the target is walked there only: a one-file restore into a home folder
    // must not read (chunk) every other file in it. Its folders on the way are not walked, so
    // their temp leftovers are looked for on their own.
    const only = this.opts.only?.split('/').filter((p) => p !== '').join('/');
    const own = only === undefined ? target : pathInside(target, only);
    if (only !== undefined) await removeTemps(this.plan.dirs.filter((d) => !d.entry).map((d) => d.path));
    const roots = [own, ...(this.opts.seeds ?? []).map((s) => resolve(s))];
    const walk = this.opts.walked && only === undefined ? walkAgain(this.opts.walked) : await walkSeeds(roots, created, this.opts.signal, this.opts.listed, existing);
    this.walk = walk;
    const planned = new Set(this.plan.dirs.map((d) => d.path));
    // A killed restore's temp files hold the chunks it had written (a 4 GiB file cut off at 3 GiB,
    // 3 GiB of them): they are seeds, verified at copy time like any, and go once copied from (fill).
    const seeds = [...walk.files];
    for (const temp of walk.temps) {
      if (!planned.has(dirname(temp)) || tempInUse(temp, basename(temp))) continue;
      const st = lstatNow(temp);
      if (st?.isFile()) {
        seeds.push({ path: temp, size: st.size, st: fileStat(st) });
        this.leftovers.push(temp);
      } else await rm(temp, { recursive: true, force: true });
    }
    const onDisk = this.plan.files.map((f) => walk.stats.get(f.path));
    // Files of the right size are complete when their chunks match, or (quick check) their mtime.
    const candidates = new Map<string, number>();
    const quick = new Set<string>();
    this.plan.files.forEach((f, i) => {
      const st = onDisk[i];
      if (st?.size !== f.entry.size) return;
      if (this.opts.quickCheck && sameMtime(st, f.entry.mtimeMs)) quick.add(f.path);
      else candidates.set(f.path, f.entry.size);
    });
    const needed = new Map<BlobId, number>();
    for (const f of this.plan.files) for (const c of f.chunks) needed.set(c.id, c.length);
    const index = await scanSeeds({
      // Files that passed the quick check are not read, not even as seeds.
      files: quick.size === 0 ? seeds : seeds.filter((f) => !quick.has(f.path)),
      needed,
      candidates,
      params: this.repo.format.chunker,
      hash: repoHash(this.repo),
      chunkFile: this.opts.chunkFile ?? poolChunkFile,
      chunkFiles: this.opts.chunkFiles ?? (this.opts.chunkFile ? undefined : poolChunkFiles),
      // The chunker's pool takes one file per core and queues the rest; more in flight keeps the
      // pool busy while small files (chunked inline) wait on reads.
      concurrency: this.concurrency,
      signal: this.opts.signal,
    });
    return { index, onDisk, quick };
  }

  /** Files whose content is already right are left in place (metadata fixed if needed); the rest, by priority. */
  async classify(index: SeedIndex, onDisk: (FileStat | undefined)[], quick: ReadonlySet<string>): Promise<Work[]> {
    const works: { work: Work; priority: number }[] = [];
    const priority = this.opts.priority ?? ((_rel: string, size: number) => size);
    for (const [i, f] of this.plan.files.entries()) {
      const st = onDisk[i];
      if (st && (quick.has(f.path) || sameChunks(index.chunked.get(f.path), f.entry.chunks))) {
        if (!sameMtime(st, f.entry.mtimeMs) || !sameMode(st, f.entry.mode)) {
          this.wrote.add(f.path);
          // A file changed since the walk is left as it is (a local edit: meta.ts): the layer's
          // time on its bytes would make the edit look restored, to this restore's next run and to sync.
          await fixFileMeta(f.path, f.entry.mode, f.entry.mtimeMs, this.syncEach, st);
        }
        this.stats.bytesReused += f.entry.size;
        this.stats.filesSkippedComplete++;
        this.filesDone++;
        continue;
      }
      if (st) {
        this.opts.replacing?.(f.rel, st);
        this.replacing.add(f);
        this.found.set(f, st);
      } else {
        const other = this.walk?.others.get(f.path);
        if (other !== undefined) this.found.set(f, other);
      }
      this.wrote.add(f.path);
      works.push({ work: { file: f, missing: f.chunks.length }, priority: priority(f.rel, f.entry.size) });
    }
    works.sort((a, b) => a.priority - b.priority || (a.work.file.rel < b.work.file.rel ? -1 : 1));
    this.emit();
    return works.map((w) => w.work);
  }

  async fill(works: Work[], index: SeedIndex, assembly: Assembly, cache: RangeCache): Promise<void> {
    const { signal } = this.opts;
    const counters = this.counters;
    const seal = (w: Work) => assembly.seal(w.file);
    const remaining = await copySeeded({ works, sources: index.sources, hash: repoHash(this.repo), assembly, counters, concurrency: this.concurrency, onComplete: seal, signal });
    for (const temp of this.leftovers.splice(0)) await rm(temp, { force: true });
    const finish = async (w: Work): Promise<void> => {
      signal?.throwIfAborted();
      await assembly.finish(w.file);
      this.filesDone++;
      this.emit();
    };
    await forEachLimit(
      works.filter((w) => w.missing === 0),
      this.concurrency,
      finish,
    );
    const placed = (): void => {
      this.filesDone++;
      this.emit();
    };
    await download({ repo: this.repo, remaining, cache, assembly, counters, onComplete: finish, onPlaced: placed, onWritten: () => this.emit(), concurrency: this.concurrency, signal });
  }

  /**
   * With `newcomers` (or `aside`), how each file goes in: only what the walk saw at its path is
   * replaced, and anything else found there then is moved to a conflict copy first (assembly.ts).
   */
  placing(target: string): Placing | undefined {
    const device = this.opts.newcomers?.device ?? this.opts.aside?.device;
    if (device === undefined) return undefined;
    let planned: Set<string> | undefined;
    const taken = (c: string): boolean => (planned ??= new Set([...this.plan.dirs, ...this.plan.files, ...this.plan.links].map((e) => e.rel))).has(c);
    return {
      found: (file, there) => this.found.get(file) ?? (there ? this.foundFolded(file.path) : undefined),
      keep: async (file, st) => {
        try {
          this.stats.movedAside.push({ path: file.rel, copy: await moveToCopy(target, file.path, file.rel, st.mtimeMs, device, taken) });
        } catch (err) {
          // Gone again before it could be moved: nothing to keep.
          if (!isErrno(err, 'ENOENT')) throw err;
        }
      },
    };
  }

  /**
   * The files keepChanged just kept copies of: what each holds now is what its rename may replace
   * (not a newcomer: a second copy of it would be the same version twice).
   */
  keptCopies(kept: readonly Kept[]): void {
    if (kept.length === 0) return;
    const paths = new Set(kept.map((k) => k.path));
    for (const f of [...this.plan.files, ...this.plan.links]) {
      const st = paths.has(f.path) ? lstatNow(f.path) : undefined;
      if (st?.isFile()) this.found.set(f, fileStat(st));
    }
  }

  private folded: Map<string, Found> | undefined;

  /** What the walk saw at a path that folds (plan foldKey) to `path`'s: on a case-insensitive disk, at `path` itself. */
  private foundFolded(path: string): Found | undefined {
    if (this.folded === undefined) {
      this.folded = new Map();
      for (const [p, st] of this.walk?.stats ?? []) this.folded.set(foldKey(p), st);
      for (const [p, other] of this.walk?.others ?? []) this.folded.set(foldKey(p), other);
    }
    return this.folded.get(foldKey(path));
  }

  emit(): void {
    this.stats.bytesSeeded = this.counters.bytesSeeded;
    this.stats.bytesDownloaded = this.counters.bytesDownloaded;
    this.stats.gets = this.repo.stats.gets - this.gets0;
    const s = this.stats;
    this.opts.onProgress?.({
      filesDone: this.filesDone,
      files: s.files,
      bytesDone: s.bytesReused + s.bytesSeeded + s.bytesDownloaded,
      bytes: s.bytes,
      bytesSeeded: s.bytesSeeded,
      bytesDownloaded: s.bytesDownloaded,
    });
  }
}

async function planOf(repo: Repository, cache: RangeCache, target: string, opts: RestoreOptions): Promise<Plan> {
  if (typeof opts.root === 'string') return buildPlan(repo, cache, target, opts.root, { only: opts.only, signal: opts.signal, rootKey: opts.rootKey });
  if (opts.only !== undefined) throw new StrataError('E_USAGE', 'a tree in memory is restored whole: `only` needs a root tree id', { path: opts.only });
  return planMemoryTree(repo, target, opts.root);
}

/**
 * Fewer files than this are fsynced one by one: a syncfs writes out what every process left
 * unwritten on the file system, which a restore of one file should not wait for.
 */
const SYNC_WHOLE_MIN_FILES = 64;

/**
 * How the restore makes what it writes durable (index.ts, Durability): not at all (deferSync), by
 * syncing the file system as a whole where that works (Linux; probed on /proc/self, as the
 * sign-in probes it, which costs nothing to sync) and the plan has many files, else by an fsync of
 * each file and folder.
 */
async function syncWhole(opts: RestoreOptions, plan: Plan): Promise<boolean | 'deferred'> {
  if (opts.deferSync) return 'deferred';
  return plan.files.length >= SYNC_WHOLE_MIN_FILES && canSyncFileSystem() && (await trySyncFileSystem('/proc/self'));
}

/**
 * One folder of each file system the restore writes to: the target's, and that of each folder of
 * it the walk found mounted from another (a syncfs covers one file system).
 */
function fileSystemsOf(target: string, targetDev: number, existing: ReadonlyMap<string, Stats>): string[] {
  const paths = new Map<number, string>([[targetDev, target]]);
  for (const [path, st] of existing) if (!paths.has(st.dev)) paths.set(st.dev, path);
  return [...paths.values()];
}

async function run(repo: Repository, opts: RestoreOptions, target: string, gets0: number): Promise<RestoreStats> {
  const cache = new RangeCache(repo.format.hash);
  const plan = await planOf(repo, cache, target, opts);
  const whole = await syncWhole(opts, plan);
  const syncEach = whole === false;
  const r = new Restore(repo, opts, plan, gets0, leaveOutTooLong(plan), syncEach);
  const concurrency = r.concurrency;
  try {
    if (opts.aside) r.stats.movedAside = await moveAsideOtherKinds(plan, target, opts.aside.device);
    const placing = r.placing(target);
    const { created, existing } = await ensureDirs(plan.dirs, placing && { seen: seenBefore(opts), keep: placing.keep });
    const fileSystems = fileSystemsOf(target, (await lstat(target)).dev, existing);
    r.stats.fileSystems = fileSystems;
    const barrier = async (): Promise<void> => {
      for (const path of fileSystems) await syncFileSystem(path);
    };
    const { index, onDisk, quick } = await r.seedIndex(target, created, existing);
    const works = await r.classify(index, onDisk, quick);
    let kept: Kept[] = [];
    if (opts.aside) {
      const replaced = [...works.map((w) => w.file), ...plan.links];
      const changed = await keepChanged(repo, plan, replaced, target, { ...opts.aside, only: opts.only, sync: syncEach });
      r.stats.movedAside.push(...changed.moved);
      kept = changed.kept;
      r.keptCopies(kept);
      // The copies are durable before anything they keep is replaced (aside.ts).
      if (whole === true && changed.moved.length > 0) await barrier();
    }
    const durability: Durability = whole === 'deferred' ? { mode: 'none' } : whole ? { mode: 'batched', replacing: r.replacing, barrier } : { mode: 'each' };
    const assembly = new Assembly(undefined, durability, undefined, placing);
    // A new folder's entry is in its parent: that parent gained an entry and must be fsynced too.
    for (const d of created) assembly.dirtyDirs.add(dirname(d));
    try {
      await r.fill(works, index, assembly, cache);
      await assembly.flush();
      for (const link of plan.links) if (await restoreLink(link, placing)) assembly.dirtyDirs.add(resolve(link.path, '..'));
    } catch (err) {
      await assembly.discardAll();
      await undoKept(kept);
      throw err;
    }
    await finishDirs(plan.dirs, syncEach ? assembly.dirtyDirs : new Set(), concurrency, !opts.folderMetaLater, syncEach);
    if (whole === true) await barrier();
  } catch (err) {
    throw namingMovedAside(cancelled(err, opts, target), target, r.stats.movedAside);
  }
  r.emit();
  // What `aside` moved is in no walk, and `only`'s walk covers one path.
  if (opts.onWalked && r.walk && opts.only === undefined && !opts.aside) {
    for (const link of plan.links) r.wrote.add(link.path);
    opts.onWalked({ walk: r.walk, wrote: r.wrote });
  }
  return r.stats;
}

/**
 * A restore that fails (or is cancelled) after moving things aside names them in its error, the
 * first and how many, so that the user can find them: only those whose copy is still there
 * (undoKept removed the copies of files never replaced). A StrataError keeps its code and where;
 * another (a raw ENOSPC) is E_RESTORE_FAILED, its own line first.
 */
function namingMovedAside(err: unknown, target: string, moved: readonly MovedAside[]): unknown {
  const still = moved.filter((m) => lstatNow(pathInside(target, m.copy)) !== undefined);
  const first = still[0];
  if (first === undefined) return err;
  const copy = first.copy.slice(first.copy.lastIndexOf('/') + 1);
  const tail = `; moved aside: ${still.length} (first: ${shortenMiddle(pathInside(target, first.path))} → ${copy})`;
  if (err instanceof StrataError) return new StrataError(err.code, err.message + tail, { key: err.key, path: err.path }, { cause: err });
  return new StrataError('E_RESTORE_FAILED', describeError(err) + tail, {}, { cause: err });
}

/** Lays the tree `opts.root` onto `opts.target`; rerunning after a crash completes it. */
export async function restoreTree(repo: Repository, opts: RestoreOptions): Promise<RestoreStats> {
  const gets0 = repo.stats.gets;
  const target = await prepareTarget(opts.target);
  try {
    return await run(repo, opts, target, gets0);
  } catch (err) {
    throw cancelled(err, opts, target);
  }
}

/** An error of a cancelled restore, as E_ABORTED unless it is already a StrataError (the signal's reason, say). */
function cancelled(err: unknown, opts: RestoreOptions, target: string): unknown {
  if (opts.signal?.aborted && !(err instanceof StrataError)) {
    return new StrataError('E_ABORTED', 'restore was cancelled; run it again to finish', { path: target }, { cause: err });
  }
  return err;
}

/** Restores one snapshot of `layer` (its root tree) onto `opts.target`. */
export async function restoreSnapshot(repo: Repository, layer: string, snapshotId: SnapshotId, opts: Omit<RestoreOptions, 'root'>): Promise<RestoreStats> {
  const snapshot = await repo.loadSnapshot(layer, snapshotId);
  return restoreTree(repo, { ...opts, root: snapshot.root, rootKey: keys.snapshot(layer, snapshotId) });
}
