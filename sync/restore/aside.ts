/**
 * Keeping the target's entries of another kind (RestoreOptions.aside; a point-in-time restore in
 * place): where the tree has a file or link and the target a folder, or the tree a folder and the
 * target a file or link, the restore would remove the target's entry (fsutil: the snapshot wins).
 * With `aside`, that entry is first moved to a conflict copy beside it, named as live sync names
 * them (`name.sync-conflict-YYYYMMDD-HHMMSS-<device>.ext`, from the entry's own mtime), so the
 * restore writes into an empty place and nothing of the user's is lost.
 *
 * Files and links the restore replaces are kept too (keepChanged), unless the layer keeps their
 * version: restoring an old version over one the user made since, and never synced, must not
 * lose it. A file is kept by a hard link (a copy where the file system has none) rather than a
 * rename, so that it stays readable as a seed until the restore replaces it.
 *
 * What must hold: only real folders are looked into, top-down, so nothing is followed through a
 * link (a link where the tree has a folder is itself moved aside); a copy's name is free on the
 * disk and is no path the restore writes, and nothing is ever moved or linked over an entry that
 * appeared there meanwhile (renameNoReplace, link). Unless the caller syncs the file system at the
 * end, the copies of what the restore replaces are durable (a copied file fsynced, each folder
 * holding one fsynced) before the restore replaces anything: a crash must never leave an original
 * replaced and its copy lost. A restore that fails after keeping copies removes those whose
 * original it never replaced (undoKept): they would be the same version twice.
 */
import { readdirSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { link, readlink, unlink, utimes } from 'node:fs/promises';
import { isStrataError } from '../errors.js';
import { fsyncDir, fsyncFile, isErrno, renameNoReplace } from '../fsutil.js';
import { copyRegular } from '../sparse.js';
import { foldKey } from '../plan/casefold.js';
import { freeConflictPath } from '../plan/conflict-name.js';
import type { Repository } from '../repo/repository.js';
import type { BlobId } from '../repo/types.js';
import { stillFound } from './assembly.js';
import { breathe, lstatNow, pathInside, readlinkNow } from './fsutil.js';
import { sameMtime } from './meta.js';
import { buildPlan } from './plan.js';
import { foundIn } from './seed.js';
import { RangeCache } from './ranges.js';
import type { Plan, PlannedFile, PlannedLink, RestoreOptions } from './types.js';

export interface MovedAside {
  /** Relative to the target, `/` separated. */
  path: string;
  copy: string;
  /** A file or link the restore replaces, kept because the layer does not keep its version. */
  changed?: true;
}

/** A copy keepChanged made of a file, and the file's inode then (undoKept). */
export interface Kept {
  path: string;
  copy: string;
  ino: number;
}

function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}

/**
 * Moves the entry at `path` (`rel` in the target) to its first free conflict copy name, never
 * over anything: a name that `taken` passed but that is found taken when moving (made meanwhile)
 * is skipped for the next one. Returns the copy, relative to the target.
 */
export async function moveToCopy(target: string, path: string, rel: string, mtimeMs: number, device: string, taken: (c: string) => boolean): Promise<string> {
  const refused = new Set<string>();
  for (;;) {
    const copy = freeConflictPath(rel, mtimeMs, device, (c) => refused.has(c) || taken(c));
    if (await renameNoReplace(path, pathInside(target, copy))) return copy;
    refused.add(copy);
  }
}

/** Moves aside every entry of the target whose kind (folder or not) differs from the plan's there. */
export async function moveAsideOtherKinds(plan: Plan, target: string, device: string): Promise<MovedAside[]> {
  const wantsDir = new Map<string, boolean>();
  for (const d of plan.dirs) if (d.rel !== '') wantsDir.set(d.rel, true);
  for (const f of plan.files) wantsDir.set(f.rel, false);
  for (const l of plan.links) wantsDir.set(l.rel, false);
  const depth = (rel: string) => rel.split('/').length;
  const ordered = [...wantsDir].sort(([a], [b]) => depth(a) - depth(b));
  /** Planned folders that are not real folders on the disk (now): nothing under them is there to keep. */
  const absent = new Set<string>();
  const moved: MovedAside[] = [];
  for (const [i, [rel, dir]] of ordered.entries()) {
    await breathe(i);
    if (absent.has(parentOf(rel))) {
      if (dir) absent.add(rel);
      continue;
    }
    const path = pathInside(target, rel);
    const st = lstatNow(path);
    if (st?.isDirectory() === dir) continue;
    if (dir) absent.add(rel);
    if (st === undefined) continue;
    const taken = (c: string) => wantsDir.has(c) || lstatNow(pathInside(target, c)) !== undefined;
    moved.push({ path: rel, copy: await moveToCopy(target, path, rel, st.mtimeMs, device, taken) });
  }
  return moved;
}

/** What the layer's latest snapshot has at each path below `only` (or everywhere): size and mtime of a file, a link's target. */
async function savedEntries(repo: Repository, target: string, latest: BlobId, only: string | undefined): Promise<Map<string, { size: number; mtimeMs: number } | { target: string }>> {
  const saved = new Map<string, { size: number; mtimeMs: number } | { target: string }>();
  let plan: Plan;
  try {
    plan = await buildPlan(repo, new RangeCache(repo.format.hash), target, latest, { only });
  } catch (err) {
    // Not in the latest snapshot: deleted since, so nothing there is a version it keeps.
    if (isStrataError(err, 'E_NOT_IN_SNAPSHOT')) return saved;
    throw err;
  }
  for (const f of plan.files) saved.set(f.rel, f.entry);
  for (const l of plan.links) saved.set(l.rel, l.entry);
  return saved;
}

async function isSaved(saved: Map<string, { size: number; mtimeMs: number } | { target: string }>, rel: string, path: string, st: Stats): Promise<boolean> {
  const e = saved.get(rel);
  if (e === undefined) return false;
  if ('target' in e) return st.isSymbolicLink() && (await readlink(path)) === e.target;
  return st.isFile() && st.size === e.size && sameMtime(st, e.mtimeMs);
}

/**
 * A second name for the file at `path` (its mtime and mode kept): a hard link, or a copy where the
 * file system has none (fsynced if `sync`: its bytes are new). False, and nothing made, where the
 * copy finds no regular file at `path` any more (copyRegular: a FIFO is not waited on, a link not
 * followed). A copy whose times or fsync fail is removed: the error fails the restore.
 */
async function keepFile(path: string, copy: string, st: Stats, sync: boolean): Promise<boolean> {
  try {
    await link(path, copy);
    return true;
  } catch (err) {
    if (!isErrno(err, 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'EXDEV')) throw err;
  }
  try {
    await copyRegular(path, copy);
  } catch (err) {
    if (isErrno(err, 'ENOTREG', 'ELOOP')) return false;
    throw err;
  }
  try {
    await utimes(copy, st.atime, st.mtime);
    if (sync) await fsyncFile(copy);
  } catch (err) {
    // The restore fails before replacing the file: its copy would be the same version twice,
    // which a conflict copy's name would have synced everywhere (see undoKept).
    await unlink(copy).catch(() => undefined);
    throw err;
  }
  return true;
}

/**
 * The conflict copy of `rel` already beside it that is the very file `st` (a hard link a restore
 * killed before it replaced the file made), if any: kept once already, the same version needs no
 * second copy. The candidates are the names a copy would take, in turn, up to the first free one.
 */
function keptBefore(target: string, rel: string, st: Stats, device: string): string | undefined {
  let found: string | undefined;
  freeConflictPath(rel, st.mtimeMs, device, (c) => {
    const there = lstatNow(pathInside(target, c));
    if (there?.isFile() && there.ino === st.ino && there.dev === st.dev) found = c;
    return there !== undefined && found === undefined;
  });
  return found;
}

/**
 * Keeps, as conflict copies, the files and links in `replaced` (those the restore is about to
 * write over) whose version the layer's latest snapshot (`latest`) does not have; returns them,
 * made durable if `sync` (the caller does not sync the file system at the end).
 */
export async function keepChanged(
  repo: Repository,
  plan: Plan,
  replaced: readonly (PlannedFile | PlannedLink)[],
  target: string,
  opts: { device: string; latest?: BlobId | undefined; only?: string | undefined; sync: boolean },
): Promise<{ moved: MovedAside[]; kept: Kept[] }> {
  const present: { item: PlannedFile | PlannedLink; st: Stats }[] = [];
  for (const [i, item] of replaced.entries()) {
    await breathe(i);
    const st = lstatNow(item.path);
    if (st === undefined || st.isDirectory()) continue;
    // A link the restore leaves as it is (restoreLink) replaces nothing.
    if ('target' in item.entry && st.isSymbolicLink() && (await readlink(item.path)) === item.entry.target) continue;
    present.push({ item, st });
  }
  const moved: MovedAside[] = [];
  const kept: Kept[] = [];
  if (present.length === 0) return { moved, kept };
  const saved = opts.latest === undefined ? new Map() : await savedEntries(repo, target, opts.latest, opts.only);
  const planned = new Set<string>([...plan.dirs, ...plan.files, ...plan.links].map((e) => e.rel));
  const taken = (c: string) => planned.has(c) || lstatNow(pathInside(target, c)) !== undefined;
  for (const { item, st } of present) {
    if (await isSaved(saved, item.rel, item.path, st)) continue;
    let copy: string | undefined;
    if (st.isFile()) {
      const before = keptBefore(target, item.rel, st, opts.device);
      copy = before ?? freeConflictPath(item.rel, st.mtimeMs, opts.device, taken);
      if (before !== undefined || (await keepFile(item.path, pathInside(target, copy), st, opts.sync))) kept.push({ path: item.path, copy: pathInside(target, copy), ino: st.ino });
      else copy = undefined;
    }
    // Anything else (a link, a socket; what replaced the file since its lstat) is not read by the restore: it moves.
    copy ??= await moveToCopy(target, item.path, item.rel, st.mtimeMs, opts.device, taken);
    moved.push({ path: item.rel, copy, changed: true });
  }
  if (opts.sync) for (const d of new Set(moved.map((m) => dirname(pathInside(target, m.copy))))) await fsyncDir(d);
  return { moved, kept };
}

/**
 * Whether what stands at `other` (a name differing from `path`'s in case) is `st`, found at `path`:
 * one entry under both names. A folder that lists `path`'s name holds it as an entry of its own (a
 * case-sensitive disk); else it must be the same kind, size, mtime and mode, a link to the same
 * target (not the inode, which a FUSE disk numbers anew per name: assembly.ts stillFound).
 */
function sameUnderName(other: string, st: Stats, path: string): boolean {
  if (listsName(dirname(path), basename(path))) return false;
  const then = lstatNow(other);
  if (then === undefined || then.isDirectory() || then.mode !== st.mode || then.size !== st.size || !sameMtime(then, st.mtimeMs)) return false;
  return !then.isSymbolicLink() || readlinkNow(other) === readlinkNow(path);
}

/** Whether folder `dir` lists an entry named exactly `name` (one it cannot read: as if it did, so nothing is taken for seen). */
function listsName(dir: string, name: string): boolean {
  try {
    return readdirSync(dir).includes(name);
  } catch {
    return true;
  }
}

/** After a failed restore: removes the copies whose original is still in place (see keepChanged). */
export async function undoKept(kept: readonly Kept[]): Promise<void> {
  for (const k of kept) {
    if (lstatNow(k.path)?.ino === k.ino) await unlink(k.copy).catch(() => undefined);
  }
}

/**
 * Whether the caller saw `st` at `path` before the restore began (its `listed` or `seen`, or its
 * `walked` but for the paths that restore wrote): a listed entry of the same kind, or what the
 * earlier walk saw there (a file of the same size, mtime and mode, a link to the same target; again
 * something else that is no file nor folder: assembly.ts stillFound). An entry listed under a name
 * differing in case (plan foldKey) counts where it is what stands at `path` (sameUnderName): on a
 * case-insensitive disk it is there, as first contact takes it, which left it for the restore to
 * replace (layer-wins); on a case-sensitive one it is another entry, and what is at `path` is kept.
 */
export function seenBefore(opts: Pick<RestoreOptions, 'listed' | 'seen' | 'walked' | 'only'>): (path: string, st: Stats) => boolean {
  const walked = opts.only === undefined ? opts.walked : undefined;
  return (path, st) => {
    const dir = dirname(path);
    const name = basename(path);
    const listing = opts.listed?.get(dir) ?? opts.seen?.get(dir);
    const entry = listing?.find((e) => e.name === name) ?? listing?.find((e) => foldKey(e.name) === foldKey(name) && sameUnderName(join(dir, e.name), st, path));
    if (entry !== undefined) return !entry.isDirectory() && entry.isFile() === st.isFile() && entry.isSymbolicLink() === st.isSymbolicLink();
    if (walked === undefined || walked.wrote.has(path)) return false;
    const found = foundIn(walked.walk, path);
    return found !== undefined && stillFound(found, st, path);
  };
}
