/**
 * The walk: one directory into one tree, children first (trees are built bottom-up, because a
 * tree names its subtrees by id).
 *
 * Directories are walked depth-first, one at a time; regular files go to background jobs bounded
 * by ctx.files (changed small files in batches, batch.ts), so the walker waits when enough files
 * are in flight and memory stays bounded by the path being walked plus those files. Symlinks are read with lstat/readlink and never
 * followed. Each directory's parent tree comes from ctx.parents, which reads the parent snapshot
 * a level at a time (prefetch.ts) rather than with a round trip per directory.
 *
 * An entry that cannot be read now keeps the parent snapshot's version when it has one (and that
 * version is still fully in the repository): a locked or unreadable file must not look like a
 * deletion to the other devices. Either way it is reported in `skipped`.
 */
import type { Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { blobId } from '../chunker/hash.js';
import { encodeTree } from '../repo/index.js';
import type { BlobId, TreeEntry } from '../repo/types.js';
import { addBlob, modeOf, mtimeOf, relJoin, report, skip, type Context } from './context.js';
import { cached, entryFor, snapshotFile } from './file.js';
import { fsProblem, listNames, readTarget, unsupportedKind } from './listing.js';
import { parentSubtree, type ParentDir } from './parent.js';

/** Where entries of one directory are collected while its file jobs run. */
interface DirWork {
  readonly ctx: Context;
  readonly abs: string;
  readonly rel: string;
  readonly prev: ParentDir;
  readonly entries: TreeEntry[];
  readonly jobs: Promise<unknown>[];
}

/** The parent's entry for `name` when it is usable as a stand-in for an unreadable entry. */
function keepable(ctx: Context, prev: TreeEntry | undefined): TreeEntry | undefined {
  if (prev?.type === 'file') return prev.chunks.every((id) => ctx.repo.hasBlob(id)) ? prev : undefined;
  if (prev?.type === 'dir') return ctx.repo.hasBlob(prev.subtree) ? prev : undefined;
  return prev?.type === 'symlink' ? prev : undefined;
}

function keep(w: DirWork, entry: TreeEntry): void {
  w.entries.push(entry);
  // A kept directory's contents were not walked, so only its own entry is counted.
  if (entry.type === 'file') {
    w.ctx.stats.files++;
    w.ctx.stats.bytes += entry.size;
  } else if (entry.type === 'symlink') w.ctx.stats.symlinks++;
  else if (entry.type === 'dir') w.ctx.stats.dirs++;
}

/** Records why `name` could not be read; keeps the parent's version if there is one. Returns false for errors that must stop. */
function onReadError(w: DirWork, name: string, err: unknown): boolean {
  const problem = fsProblem(err);
  if (!problem) return false;
  if ('vanished' in problem) return true;
  const kept = keepable(w.ctx, w.prev.get(name));
  if (kept) keep(w, kept);
  skip(w.ctx, relJoin(w.rel, name), kept ? `${problem.unreadable}; kept the version from the parent snapshot` : problem.unreadable);
  return true;
}

/** A changed small file into the open batch (batch.ts); false when it goes the ordinary way. */
function addSmall(w: DirWork, name: string, rel: string, st: Stats): Promise<boolean> {
  const { ctx } = w;
  if (cached(ctx, st, w.prev.get(name))) return Promise.resolve(false);
  return ctx.small.add(ctx, {
    rel,
    st,
    done: (chunks) => {
      w.entries.push(entryFor(name, st, chunks));
      ctx.stats.files++;
      ctx.stats.bytes += st.size;
    },
  });
}

async function addFile(w: DirWork, name: string, st: Stats): Promise<void> {
  const { ctx } = w;
  const rel = relJoin(w.rel, name);
  if (await addSmall(w, name, rel, st)) return;
  const started = await ctx.files.start(async () => {
    try {
      const out = await snapshotFile(ctx, join(w.abs, name), rel, name, st, w.prev.get(name));
      if ('entry' in out) {
        w.entries.push(out.entry);
        ctx.stats.files++;
        ctx.stats.bytes += out.entry.size;
      } else if ('skipped' in out) {
        skip(ctx, rel, out.skipped);
      }
    } catch (err) {
      if (!onReadError(w, name, err)) throw err;
    }
  });
  w.jobs.push(started.result);
}

async function addSymlink(w: DirWork, name: string, st: Stats): Promise<void> {
  const t = await readTarget(join(w.abs, name));
  if ('problem' in t) return skip(w.ctx, relJoin(w.rel, name), t.problem);
  w.entries.push({ name, type: 'symlink', mtimeMs: mtimeOf(st), target: t.target });
  w.ctx.stats.symlinks++;
}

async function addDir(w: DirWork, name: string, st: Stats): Promise<void> {
  const subtree = await snapshotDir(w.ctx, join(w.abs, name), relJoin(w.rel, name), parentSubtree(w.prev, name));
  w.entries.push({ name, type: 'dir', mode: modeOf(st), mtimeMs: mtimeOf(st), subtree });
}

async function addEntry(w: DirWork, name: string, problem: string | undefined): Promise<void> {
  const { ctx } = w;
  const rel = relJoin(w.rel, name);
  const st = await lstat(join(w.abs, name));
  if (ctx.exclude?.(rel, st.isDirectory())) return;
  const why = problem ?? unsupportedKind(st);
  if (why) return skip(ctx, rel, why);
  if (st.isDirectory()) return addDir(w, name, st);
  if (st.isSymbolicLink()) return addSymlink(w, name, st);
  return addFile(w, name, st);
}

/** Saves the tree of one directory and returns its id (unchanged content keeps its id). */
async function saveTree(ctx: Context, entries: TreeEntry[]): Promise<BlobId> {
  const bytes = encodeTree({ entries });
  const id = blobId(bytes, ctx.hash);
  await addBlob(ctx, 'tree', id, bytes);
  return id;
}

/** Snapshots directory `abs` (layer path `rel`, '' for the root); `parentId` is the parent snapshot's tree for it. */
export async function snapshotDir(ctx: Context, abs: string, rel: string, parentId: BlobId | undefined): Promise<BlobId> {
  const w: DirWork = { ctx, abs, rel, prev: await ctx.parents.take(parentId), entries: [], jobs: [] };
  report(ctx, rel);
  for (const { name, utf8, problem } of await listNames(abs)) {
    ctx.signal?.throwIfAborted();
    ctx.files.check();
    if (!utf8) {
      // Such a name cannot even be passed to lstat as a string; it is reported as it decodes.
      skip(ctx, relJoin(rel, name), problem ?? 'name is not valid UTF-8');
      continue;
    }
    try {
      await addEntry(w, name, problem);
    } catch (err) {
      if (!onReadError(w, name, err)) throw err;
    }
  }
  // Batches open or running hold files of this directory only: each subdirectory drained them at its end.
  await ctx.small.drain(ctx);
  await Promise.all(w.jobs);
  ctx.files.check();
  ctx.stats.dirs++;
  return saveTree(ctx, w.entries);
}
