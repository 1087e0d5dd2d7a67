/**
 * restoreTree / restoreSnapshot: plan → folders → seed scan → seed copy → downloads → links →
 * folder metadata. See index.ts for what must hold.
 */
import type { Stats } from 'node:fs';
import { lstat, mkdir, realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import { StrataError } from '../errors.js';
import { forEachLimit, mapLimit } from '../repo/pool.js';
import type { Repository } from '../repo/repository.js';
import type { BlobId, SnapshotId } from '../repo/types.js';
import { Assembly } from './assembly.js';
import { poolChunkFile, repoHash } from './chunk.js';
import { copySeeded, download, type Counters, type Work } from './fill.js';
import { ensureDir, isErrno, removeTemps } from './fsutil.js';
import { finishDirs, fixFileMeta, restoreLink, sameMode, sameMtime } from './meta.js';
import { buildPlan } from './plan.js';
import { scanSeeds, type SeedIndex } from './seed.js';
import type { Plan, PlannedFile, RestoreOptions, RestoreStats } from './types.js';

const DEFAULT_CONCURRENCY = 8;
/** Chunking is CPU-bound: one file per core of the small machines this runs on. */
const CHUNK_CONCURRENCY = 2;

async function prepareTarget(target: string): Promise<string> {
  await mkdir(resolve(target), { recursive: true });
  const real = await realpath(resolve(target));
  if (!(await lstat(real)).isDirectory()) throw new StrataError('E_BAD_TARGET', 'restore target is not a folder', { path: target });
  return real;
}

async function statFiles(files: readonly PlannedFile[], concurrency: number): Promise<(Stats | undefined)[]> {
  return mapLimit(files, concurrency, (f) =>
    lstat(f.path).then(
      (st) => (st.isFile() ? st : undefined),
      (err: unknown) => {
        if (isErrno(err, 'ENOENT', 'ENOTDIR')) return undefined;
        throw err;
      },
    ),
  );
}

function sameChunks(a: readonly BlobId[] | undefined, b: readonly BlobId[]): boolean {
  return a !== undefined && a.length === b.length && a.every((id, i) => id === b[i]);
}

class Restore {
  readonly counters: Counters = { bytesSeeded: 0, bytesDownloaded: 0 };
  readonly stats: RestoreStats;
  private filesDone = 0;
  private readonly concurrency: number;

  constructor(
    private readonly repo: Repository,
    private readonly opts: RestoreOptions,
    private readonly plan: Plan,
    private readonly gets0: number,
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
    };
  }

  async seedIndex(target: string): Promise<{ index: SeedIndex; onDisk: (Stats | undefined)[] }> {
    const onDisk = await statFiles(this.plan.files, this.concurrency);
    const candidates = new Map<string, number>();
    this.plan.files.forEach((f, i) => {
      if (onDisk[i]?.size === f.entry.size) candidates.set(f.path, f.entry.size);
    });
    const needed = new Map<BlobId, number>();
    for (const f of this.plan.files) for (const c of f.chunks) needed.set(c.id, c.length);
    const roots = [target, ...(this.opts.seeds ?? []).map((s) => resolve(s))];
    const chunkFile = this.opts.chunkFile ?? poolChunkFile;
    const index = await scanSeeds({ roots, needed, candidates, params: this.repo.format.chunker, hash: repoHash(this.repo), chunkFile, concurrency: CHUNK_CONCURRENCY, signal: this.opts.signal });
    return { index, onDisk };
  }

  /** Files whose content is already right are left in place (metadata fixed if needed); the rest, by priority. */
  async classify(index: SeedIndex, onDisk: (Stats | undefined)[]): Promise<Work[]> {
    const works: { work: Work; priority: number }[] = [];
    const priority = this.opts.priority ?? ((_rel: string, size: number) => size);
    for (const [i, f] of this.plan.files.entries()) {
      const st = onDisk[i];
      if (st && sameChunks(index.chunked.get(f.path), f.entry.chunks)) {
        if (!sameMtime(st, f.entry.mtimeMs) || !sameMode(st, f.entry.mode)) await fixFileMeta(f.path, f.entry.mode, f.entry.mtimeMs);
        this.stats.bytesReused += f.entry.size;
        this.stats.filesSkippedComplete++;
        this.filesDone++;
        continue;
      }
      works.push({ work: { file: f, missing: f.chunks.length }, priority: priority(f.rel, f.entry.size) });
    }
    works.sort((a, b) => a.priority - b.priority || (a.work.file.rel < b.work.file.rel ? -1 : 1));
    this.emit();
    return works.map((w) => w.work);
  }

  async fill(works: Work[], index: SeedIndex, assembly: Assembly): Promise<void> {
    const { signal } = this.opts;
    const remaining = await copySeeded(works, index.sources, repoHash(this.repo), assembly, this.counters, this.concurrency, signal);
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
    await download(this.repo, remaining, assembly, this.counters, finish, () => this.emit(), this.concurrency, signal);
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

async function run(repo: Repository, opts: RestoreOptions, target: string, gets0: number): Promise<RestoreStats> {
  const plan = await buildPlan(repo, target, opts.root, opts.only, opts.signal);
  for (const d of plan.dirs) if (d.rel !== '') await ensureDir(d.path);
  await removeTemps(plan.dirs.map((d) => d.path));
  const r = new Restore(repo, opts, plan, gets0);
  const { index, onDisk } = await r.seedIndex(target);
  const works = await r.classify(index, onDisk);
  const assembly = new Assembly();
  try {
    await r.fill(works, index, assembly);
  } catch (err) {
    await assembly.discardAll();
    throw err;
  }
  for (const link of plan.links) if (await restoreLink(link)) assembly.dirtyDirs.add(resolve(link.path, '..'));
  await finishDirs(plan.dirs, assembly.dirtyDirs);
  r.emit();
  return r.stats;
}

/** Lays the tree `opts.root` onto `opts.target`; rerunning after a crash completes it. */
export async function restoreTree(repo: Repository, opts: RestoreOptions): Promise<RestoreStats> {
  const gets0 = repo.stats.gets;
  const target = await prepareTarget(opts.target);
  try {
    return await run(repo, opts, target, gets0);
  } catch (err) {
    if (opts.signal?.aborted && !(err instanceof StrataError)) {
      throw new StrataError('E_ABORTED', 'restore was cancelled; run it again to finish', { path: target }, { cause: err });
    }
    throw err;
  }
}

/** Restores one snapshot of `layer` (its root tree) onto `opts.target`. */
export async function restoreSnapshot(repo: Repository, layer: string, snapshotId: SnapshotId, opts: Omit<RestoreOptions, 'root'>): Promise<RestoreStats> {
  const snapshot = await repo.loadSnapshot(layer, snapshotId);
  return restoreTree(repo, { ...opts, root: snapshot.root });
}
