/**
 * First contact (DESIGN §4): before the restore lays the effective tree onto home, decide what
 * happens to what the machine already has where the layer has something else.
 *
 *   layer-wins (VDI: local files are the pristine image)   the layer's version replaces the local
 *       one. The restore overwrites files and links itself (seeding from them); only a local dir
 *       where the layer has a file or link is removed here, since a file cannot be renamed over it.
 *   keep-both (persistent PCs)   a local file, link or dir that differs from the layer's version is
 *       moved aside to a conflict copy (`name.sync-conflict-YYYYMMDD-HHMMSS-<device>.ext`, the
 *       agent's naming), so the restore writes into an empty place and nothing local is lost — unless
 *       it is a file or link holding a version this machine got from the layers there (`known`: laid
 *       at an earlier sign-in, or synced; whatever the layer has there now, a dir too), or a torn write of a lay that was cut off (`cutOff`), which is no local
 *       edit and is simply replaced. A local dir where the layer has a file or link first loses the
 *       files holding such a version, and goes if nothing else is left in it.
 *
 * Either way, paths the layer does not know are left alone (live sync adopts them later), and a
 * path a whiteout hides must be gone: removed — except under keep-both, where a file is removed
 * only if it holds a version some layer had there, and anything else is moved aside instead (a dir
 * as above: moved aside only with what is left in it). A
 * path this machine laid or synced before that no layer has now (`retired`: an org layer dropped
 * it, another device deleted it) goes only while it holds a version it got from there (a link: its
 * target).
 *
 * On a case-insensitive disk (`caseInsensitive`), a local entry whose name folds to the layer's is
 * at the layer's path, and is compared, moved aside or removed as such, under its own name.
 *
 * Durability: with `syncEach` (the caller will not sync home's file system as a whole: lay.ts),
 * each conflict copy that is a file and each folder that gained or lost an entry here are fsynced,
 * one fsync per folder, before firstContact returns, so that none of it can be lost once the lay
 * is recorded (a folder the restore writes into afterwards is fsynced again by it, which is cheap).
 *
 * What must hold: nothing outside home, and nothing outside the effective tree, a hidden path or a
 * retired one, is touched; nothing is followed through a link (each dir is known to be a real dir
 * from its parent's listing, top-down, before anything under it is looked at); equal content
 * (size, then chunk list) is never a conflict.
 */
import type { Dirent, Stats } from 'node:fs';
import { lstat, readdir, readlink, rename, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { FirstContactPolicy } from '../../shared/org-config.js';
import type { BaseKind } from '../agent/index.js';
import { fsyncDir, fsyncFile, isErrno } from '../fsutil.js';
import { foldKey, freeConflictPath, type DiskNode } from '../plan/index.js';
import { forEachLimit } from '../repo/pool.js';
import { breathe, listDirNow, listDirs } from '../restore/fsutil.js';
import { sameMtime } from '../restore/meta.js';
import { baseKind } from './base.js';
import { linkKey, type Effective } from './effective.js';

export interface FirstContactOptions {
  home: string;
  effective: Effective;
  policy: FirstContactPolicy;
  /** This machine's device id: it names the conflict copies. */
  device: string;
  /** The content key (plan contentKey) of a local file. */
  contentOf: (path: string) => Promise<string>;
  /** A local file with the layer's size and mtime counts as equal without being read (lay.ts). */
  quickCheck?: boolean;
  /**
   * The last lay was cut off (lay.ts, its `laying` marker): a file bearing the layer's mtime is
   * that lay's own write — it set the mtime before the rename, without fsync, so a crash may have
   * kept the name and mtime and lost the data — and is replaced, never kept as a conflict copy.
   */
  cutOff?: boolean;
  /**
   * Names differing only in case are one name on home's disk (lay.ts): a local entry whose name
   * folds (plan foldKey) to the layer's is at the layer's path, and is acted on under its own name.
   */
  caseInsensitive?: boolean;
  concurrency?: number;
  /** fsync what first contact changed before returning (see the header); default false: the caller syncs the file system. */
  syncEach?: boolean;
}

export interface FirstContactResult {
  /** Local versions moved aside, layer-relative. */
  conflicts: { path: string; copy: string }[];
  /** Paths removed: hidden by a whiteout, retired, or (layer-wins) a dir where the layer has a file. */
  removed: string[];
  /**
   * The folders first contact listed and changed nothing in, by absolute path, with their entries:
   * the restore's walk takes these instead of reading the folders again (restore's `listed`).
   */
  listed: Map<string, Dirent[]>;
  /**
   * The other folders first contact listed, those it changed something in, by absolute path, with
   * the entries it left there (its listing minus what it moved aside or removed): the restore takes
   * what stands at one of these names as there before it began, to be replaced as the policy left
   * it, not kept as a newcomer (restore's `seen`). Not in `listed`: the restore's walk reads them again.
   */
  seen: Map<string, Dirent[]>;
  /**
   * The paths of the effective tree (and those a whiteout hides, with all under them) where the
   * disk had something before first contact, with what it was: on a VDI machine, the image's own
   * files (base.ts).
   */
  found: [string, BaseKind][];
}

type Local = Stats | undefined;

function depthOf(p: string): number {
  return p.split('/').length;
}

function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

async function lstatOrNone(path: string): Promise<Local> {
  return lstat(path).catch((err: unknown) => {
    if (isErrno(err, 'ENOENT', 'ENOTDIR')) return undefined;
    throw err;
  });
}

export async function firstContact(opts: FirstContactOptions): Promise<FirstContactResult> {
  const { home, effective, policy } = opts;
  const result: FirstContactResult = { conflicts: [], removed: [], listed: new Map(), seen: new Map(), found: [] };
  /** Paths moved aside, removed or found gone: their folder's listing, and their own, no longer hold. */
  const touched = new Set<string>();
  /** Dirs of the effective tree that are real dirs on the disk: only under them is anything looked at. */
  const present = new Set<string>(['']);
  const chosen = new Set<string>();

  const aside = async (rel: string, st: NonNullable<Local>): Promise<void> => {
    const siblings = new Set(await readdir(join(home, parentOf(rel))));
    const copy = freeConflictPath(rel, st.mtimeMs, opts.device, (c) => effective.tree.has(c) || chosen.has(c) || siblings.has(c.slice(c.lastIndexOf('/') + 1)));
    chosen.add(copy);
    touched.add(rel);
    await rename(join(home, rel), join(home, copy));
    result.conflicts.push({ path: rel, copy });
  };
  const remove = async (rel: string): Promise<void> => {
    touched.add(rel);
    await rm(join(home, rel), { recursive: true, force: true });
    result.removed.push(rel);
  };

  /**
   * Removes from the real dir `rel` the files holding a version the layers gave them there, and the
   * dirs that leaves empty; returns whether anything is left (the user's own). A hidden dir is
   * then gone or moved aside holding only that: moved aside whole, a folder deleted on another
   * machine would come back under the copy's name, org files and all, and sync to every machine.
   */
  const prune = async (rel: string): Promise<boolean> => {
    touched.add(rel);
    // What cannot be read or removed here is kept: it goes aside with the rest, as it did whole.
    const kept = (err: unknown): boolean => {
      if (isErrno(err, 'EACCES', 'EPERM')) return true;
      throw err;
    };
    let entries: Dirent[];
    try {
      entries = await readdir(join(home, rel), { withFileTypes: true });
    } catch (err) {
      return kept(err);
    }
    let left = false;
    for (const e of entries) {
      const child = `${rel}/${e.name}`;
      try {
        if (e.isDirectory()) {
          if ((await prune(child)) || !(await removeEmptyDir(child))) left = true;
        } else if (await isKnown(child, e)) {
          await rm(join(home, child), { force: true });
          result.removed.push(child);
        } else left = true;
      } catch (err) {
        left = kept(err);
      }
    }
    return left;
  };
  /** rmdir: false when something appeared in the dir meanwhile. */
  const removeEmptyDir = async (rel: string): Promise<boolean> => {
    touched.add(rel);
    try {
      await rmdir(join(home, rel));
    } catch (err) {
      if (isErrno(err, 'ENOTEMPTY', 'EEXIST')) return false;
      throw err;
    }
    result.removed.push(rel);
    return true;
  };

  /** Whether the local file or link at `rel` holds a version the layers or their history had there. */
  const isKnown = (rel: string, st: { isFile(): boolean; isSymbolicLink(): boolean }): Promise<boolean> => isKnownAt(rel, st, rel);
  /** isKnown of the effective tree's `rel`, found on the disk at `path` (case-insensitive: its own name). */
  const isKnownAt = async (rel: string, st: { isFile(): boolean; isSymbolicLink(): boolean }, path = at(rel)): Promise<boolean> => {
    if (st.isFile()) return effective.known(rel).has(await opts.contentOf(join(home, path)));
    if (st.isSymbolicLink()) return effective.known(rel).has(linkKey(await readlink(join(home, path))));
    return false;
  };

  const differs = async (rel: string, node: DiskNode, st: NonNullable<Local>): Promise<boolean> => {
    // Of another kind than the layer's: a version laid or synced here before is no local edit either.
    const otherKind = async (): Promise<boolean> => st.isDirectory() || !(await isKnownAt(rel, st));
    if (node.type === 'dir') return !st.isDirectory() && (await otherKind());
    if (node.type === 'symlink') {
      if (!st.isSymbolicLink()) return otherKind();
      const target = await readlink(join(home, at(rel)));
      return target !== node.target && !effective.known(rel).has(linkKey(target));
    }
    if (!st.isFile()) return otherKind();
    if (st.size === node.size && (st.size === 0 || (opts.quickCheck && sameMtime(st, node.mtimeMs)))) return false;
    if (opts.cutOff && sameMtime(st, node.mtimeMs)) return false;
    const content = await opts.contentOf(join(home, at(rel)));
    // A version laid or synced here before is not a local edit: the layer's newer one replaces it.
    return content !== node.content && !effective.known(rel).has(content);
  };

  // Case-insensitive: the path on the disk of each effective-tree path whose disk name (or a
  // parent's) differs in case from the layer's. Case-sensitive, every path is its own.
  const fold = opts.caseInsensitive === true;
  const onDisk = new Map<string, string>();
  const at = (rel: string): string => (fold ? (onDisk.get(rel) ?? rel) : rel);

  // One readdir per real dir instead of an lstat per path: a dirent's type is the entry's own (a
  // link is a link). A depth's folders are listed before it is looked at, many at once (listAhead:
  // a golden image has thousands of folders, each a disk read when not in the page cache); one
  // missed there is listed synchronously. Keyed by the dir's path on the disk.
  const listings = new Map<string, Map<string, Dirent>>();
  const listing = (dir: string): Map<string, Dirent> => {
    let l = listings.get(dir);
    if (l === undefined) {
      l = new Map(listDirNow(join(home, dir)).map((e) => [e.name, e]));
      listings.set(dir, l);
    }
    return l;
  };
  /** Lists the real dirs holding `level`'s paths that are not listed yet: only those known real (`present`), so nothing is read through a link. */
  const listAhead = async (level: readonly [string, DiskNode][]): Promise<void> => {
    const dirs = new Set<string>();
    for (const [rel] of level) {
      const parent = parentOf(rel);
      if (present.has(parent) && !listings.has(at(parent))) dirs.add(at(parent));
    }
    const listed = await listDirs([...dirs].map((d) => join(home, d)), opts.concurrency);
    for (const dir of dirs) listings.set(dir, new Map((listed.get(join(home, dir)) ?? []).map((e) => [e.name, e])));
  };
  const foldedListings = new Map<string, Map<string, Dirent>>();
  /** Case-insensitive: the entry of the effective-tree dir `parent` whose name folds to `name`'s; where it is on the disk is noted. */
  const foldedEntry = (rel: string, parent: string, name: string): Dirent | undefined => {
    const dir = at(parent);
    let folded = foldedListings.get(dir);
    if (folded === undefined) {
      folded = new Map([...listing(dir).values()].map((e) => [foldKey(e.name), e]));
      foldedListings.set(dir, folded);
    }
    const entry = listing(dir).get(name) ?? folded.get(foldKey(name));
    if (entry !== undefined && (entry.name !== name || dir !== parent)) onDisk.set(rel, dir === '' ? entry.name : `${dir}/${entry.name}`);
    return entry;
  };

  /** What is on the disk at `rel`, when its parent is a real dir of the effective tree; a real dir of it is noted. */
  const local = (rel: string, node: DiskNode): Dirent | undefined => {
    const parent = parentOf(rel);
    if (!present.has(parent)) return undefined;
    const name = parent === '' ? rel : rel.slice(parent.length + 1);
    const entry = fold ? foldedEntry(rel, parent, name) : listing(parent).get(name);
    if (entry === undefined) return undefined;
    const kind = baseKind(entry);
    if (kind !== undefined) result.found.push([at(rel), kind]);
    if (node.type === 'dir' && entry.isDirectory()) {
      present.add(rel);
      return undefined;
    }
    return entry;
  };

  /** A path where the disk has something else than the layer's dir (`entry`: the disk's). */
  const settle = async (rel: string, node: DiskNode, entry: Dirent): Promise<void> => {
    const path = at(rel);
    if (policy === 'keep-both') {
      const st = await lstatOrNone(join(home, path));
      // Gone since the listing: what the listing says of it (and of its folder) no longer holds.
      if (st === undefined) touched.add(path);
      if (st === undefined || !(await differs(rel, node, st))) return;
      // A dir where the layer now has a file: what the layers gave it goes, as under a whiteout.
      if (st.isDirectory() && !(await prune(path)) && (await removeEmptyDir(path))) return;
      await aside(path, st);
    } else if (node.type !== 'dir' && entry.isDirectory()) {
      await remove(path);
    }
  };

  // Top-down, one depth at a time: a dir is known to be real before its children are looked at.
  // Each depth is listed first; only the paths where the disk differs are settled, in parallel.
  const byDepth = new Map<number, [string, DiskNode][]>();
  for (const entry of effective.tree) {
    const d = depthOf(entry[0]);
    const level = byDepth.get(d);
    if (level) level.push(entry);
    else byDepth.set(d, [entry]);
  }
  for (const d of [...byDepth.keys()].sort((a, b) => a - b)) {
    const differing: [string, DiskNode, Dirent][] = [];
    const level = byDepth.get(d) ?? [];
    await listAhead(level);
    for (const [i, [rel, node]] of level.entries()) {
      await breathe(i);
      const entry = local(rel, node);
      // layer-wins settles only a dir where the layer has a file or link; the restore overwrites the rest.
      if (entry && (policy === 'keep-both' || (node.type !== 'dir' && entry.isDirectory()))) differing.push([rel, node, entry]);
    }
    await forEachLimit(differing, opts.concurrency ?? 8, ([rel, node, entry]) => settle(rel, node, entry));
  }

  for (const rel of effective.hidden) {
    if (!(await realDirsUpTo(home, parentOf(rel), present))) continue;
    const st = await lstatOrNone(join(home, rel));
    if (st === undefined) continue;
    const kind = baseKind(st);
    if (kind !== undefined) result.found.push([rel, kind]);
    // The image's folder under a whiteout: what it holds is the image's too, should the user make
    // the folder again (only the whiteout's paths below it would hide those files then).
    if (kind === 'dir') result.found.push(...(await walkDir(home, rel)));
    const pristine = await isKnown(rel, st);
    if (policy === 'layer-wins' || pristine) await remove(rel);
    else if (st.isDirectory() && !(await prune(rel))) await removeEmptyDir(rel);
    else await aside(rel, st);
  }

  // What this machine laid or synced before and no layer has now: a file or link still holding a
  // version it got goes, as a sync takes a deletion of what it did not change; a dir goes once empty.
  // Anything else there is the user's own and stays (live sync adopts it).
  for (const { path: rel, type } of effective.retired) {
    if (!(await realDirsUpTo(home, parentOf(rel), present))) continue;
    const st = await lstatOrNone(join(home, rel));
    if (st?.isDirectory()) {
      if (type === 'dir' && (await readdir(join(home, rel))).length === 0) await remove(rel);
    } else if (st !== undefined && (await isKnown(rel, st))) {
      await remove(rel);
    }
  }
  handOn(home, listings, touched, result);
  if (opts.syncEach) await makeDurable(home, result, opts.concurrency ?? 8);
  return result;
}

/**
 * Hands the listings on to the restore: a folder nothing was moved aside or removed in as `listed`,
 * one that lost entries as `seen`, without them; none of a folder moved aside or removed itself, or
 * under one (what stands at its path now is no longer what was listed).
 */
function handOn(home: string, listings: ReadonlyMap<string, ReadonlyMap<string, Dirent>>, touched: ReadonlySet<string>, result: FirstContactResult): void {
  const changed = new Set([...touched].map(parentOf));
  const gone = (dir: string): boolean => {
    for (let p = dir; p !== ''; p = parentOf(p)) if (touched.has(p)) return true;
    return false;
  };
  for (const [dir, entries] of listings) {
    if (gone(dir)) continue;
    const path = dir === '' ? home : join(home, dir);
    if (!changed.has(dir)) result.listed.set(path, [...entries.values()]);
    else result.seen.set(path, [...entries.values()].filter((e) => !touched.has(dir === '' ? e.name : `${dir}/${e.name}`)));
  }
}

/** fsyncs each conflict copy that is a file, then each folder a copy, a removal or a move aside changed. */
async function makeDurable(home: string, result: FirstContactResult, concurrency: number): Promise<void> {
  await forEachLimit(result.conflicts, concurrency, async ({ copy }) => {
    try {
      await fsyncFile(join(home, copy));
    } catch (err) {
      // A link moved aside holds nothing of its own to sync (its folder does); a copy gone since has nothing left.
      if (!isErrno(err, 'ELOOP', 'ENOENT', 'ENOTDIR')) throw err;
    }
  });
  const dirs = new Set([...result.conflicts.map((c) => c.path), ...result.removed].map((rel) => join(home, parentOf(rel))));
  await forEachLimit([...dirs], concurrency, fsyncDir);
}

/** Everything under the real dir `rel` with its kind, links not followed; what cannot be listed is left out. The event loop breathes between listings. */
async function walkDir(home: string, rel: string): Promise<[string, BaseKind][]> {
  const out: [string, BaseKind][] = [];
  const dirs = [rel];
  let listed = 0;
  for (let dir = dirs.pop(); dir !== undefined; dir = dirs.pop()) {
    await breathe(listed++);
    let entries: Dirent[];
    try {
      entries = listDirNow(join(home, dir));
    } catch {
      continue;
    }
    for (const e of entries) {
      const kind = baseKind(e);
      if (kind === undefined) continue;
      out.push([`${dir}/${e.name}`, kind]);
      if (kind === 'dir') dirs.push(`${dir}/${e.name}`);
    }
  }
  return out;
}

/** Whether every dir from home down to `dir` is a real dir (not a link); `checked` are known to be. */
async function realDirsUpTo(home: string, dir: string, checked: ReadonlySet<string>): Promise<boolean> {
  if (checked.has(dir)) return true;
  const parts = dir.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const st = await lstatOrNone(join(home, ...parts.slice(0, i)));
    if (!st?.isDirectory()) return false;
  }
  return true;
}
