/**
 * The machine's base at sign-in (DESIGN §1, sync/agent/base.ts): on a VDI machine, what its image
 * had in the layer's folders before the layer was laid. Three parts, so that finding it adds nothing
 * before ready:
 *
 *   found    paths of the effective tree (or hidden by a whiteout) that the disk already had: first
 *            contact sees them in the listings it makes anyway (first-contact.ts `found`);
 *   unknown  paths the layer does not know at all: the lay never touches them, so they are read
 *            after it, in one walk of home that enters only folders (the layer's, or unknown ones);
 *   replaced over an earlier record, files of a new image at paths the layer has, which the lay
 *            wrote over: told by the lstat its restore made of them anyway (imageFilesReplaced).
 *
 * What must hold: excluded paths (the session's folders and exclusions, as live sync reads them)
 * and first contact's conflict copies are never part of the base; nothing is followed through a
 * link; a folder that cannot be read is left out, not an error (its files are then only adopted);
 * the walk yields to the event loop as it goes. On a case-insensitive disk a folder whose name
 * differs from the layer's only in case is the layer's (the lay wrote into it): only what the layer
 * does not know under it is the image's; paths are recorded as the disk names them.
 * A path the org layers decide and the user layer does not (`org`) is `covered`, not one of `paths`:
 * the image's copy there was never shown nor adopted, and once an org layer drops the path the
 * image's shows again (DESIGN §1); live sync removing the org's copy then is no delete of the
 * user's to record, unless the user layer holds a copy of its own there by then (agent/base.ts).
 */
import type { Dirent, Stats } from 'node:fs';
import { join } from 'node:path';
import type { Base, BaseKind } from '../agent/index.js';
import { foldKey, type DiskNode } from '../plan/index.js';
import { breathe, listDirNow } from '../restore/fsutil.js';
import type { FileStat } from '../restore/index.js';
import type { Excluder } from '../watch/index.js';

export function baseKind(entry: Dirent | Stats): BaseKind | undefined {
  if (entry.isDirectory()) return 'dir';
  if (entry.isSymbolicLink()) return 'symlink';
  return entry.isFile() ? 'file' : undefined;
}

export interface FindBaseOptions {
  home: string;
  /** The effective tree laid. */
  tree: ReadonlyMap<string, DiskNode>;
  /** What first contact found where the layer has something (FirstContactResult.found). */
  found: Iterable<[string, BaseKind]>;
  exclude: Excluder;
  /** Paths first contact made (its conflict copies): the lay's, not the image's. */
  made: ReadonlySet<string>;
  /** Whether the org layers have an entry at a path (a node or a whiteout) and the user layer none; asked with the layer's names. */
  org?: (path: string) => boolean;
  /** Names differing only in case are one name on home's disk (lay.ts). */
  caseInsensitive?: boolean;
  /**
   * The base an earlier lay from this state dir recorded: the machine was signed in before and may
   * not have been reset since. It stays the base, gone from the disk or not (the user deleted an
   * image file: its delete must still hide it); of the paths the layer has, no others are the
   * image's (they are files that lay, or the user since, put there) but `replacedImage`; paths the
   * layer does not know are added (the image gained them, or nobody synced them yet).
   */
  earlier?: Base;
  /**
   * With `earlier`: files of the image at paths the layer has that the lay wrote over, though that
   * record does not name them (the machine was reset to a new image since: imageFilesReplaced).
   */
  replacedImage?: Iterable<[string, BaseKind]>;
}

/** The base, and of its paths those on the disk that the layer does not know. */
export interface FoundBase extends Base {
  /** Files, links and folders, each folder before what is in it. */
  unknown: string[];
}

export async function findBase(opts: FindBaseOptions): Promise<FoundBase> {
  // Case-insensitive: the laid path and node at a disk path, whatever the case of its names.
  const folded = opts.caseInsensitive ? new Map([...opts.tree].map(([p, n]) => [foldKey(p), [p, n] as const])) : undefined;
  const laidAt = (rel: string): DiskNode | undefined => opts.tree.get(rel) ?? folded?.get(foldKey(rel))?.[1];
  const layerPath = (rel: string): string => (opts.tree.has(rel) ? rel : (folded?.get(foldKey(rel))?.[0] ?? rel));
  const kept = (paths: Iterable<[string, BaseKind]>): Map<string, BaseKind> => new Map([...paths].filter(([p, kind]) => !opts.exclude(p, kind === 'dir')));
  const base = kept(opts.earlier?.paths ?? []);
  const covered = kept(opts.earlier?.covered ?? []);
  for (const [p, kind] of kept(opts.earlier === undefined ? opts.found : (opts.replacedImage ?? []))) (opts.org?.(layerPath(p)) === true ? covered : base).set(p, kind);
  const unknown: string[] = [];
  const dirs = [''];
  let listed = 0;
  for (let dir = dirs.pop(); dir !== undefined; dir = dirs.pop()) {
    // Synchronous listings, as the restore's walk; the event loop (the app's, during a sign-in) breathes between them.
    await breathe(listed++);
    let entries: Dirent[];
    try {
      entries = listDirNow(join(opts.home, dir));
    } catch {
      // The base only decides whether a later delete is a whiteout: a folder it cannot read is left out.
      continue;
    }
    for (const e of entries) {
      const rel = dir === '' ? e.name : `${dir}/${e.name}`;
      const kind = baseKind(e);
      if (kind === undefined || opts.exclude(rel, kind === 'dir') || opts.made.has(rel)) continue;
      const laid = laidAt(rel);
      if (laid === undefined) {
        unknown.push(rel);
        base.set(rel, kind);
      }
      // A laid file or link was found (or not) by first contact; under a laid or unknown folder, look.
      if (kind === 'dir' && (laid === undefined || laid.type === 'dir')) dirs.push(rel);
    }
  }
  return { paths: base, covered, unknown };
}

export interface ReplacedOptions {
  /** When the earlier record (FindBaseOptions.earlier) was written, by the clock that dates files. */
  recordedAt: number;
  /** When this machine started (lay.ts LayOptions.bootTime). */
  bootTime: number;
  /** Whether a version some layer has at the path, or this machine laid or synced there (the stack's trees and its history), bears the file's mtime. */
  laidHere: (path: string, before: FileStat) => boolean;
}

/**
 * Of the files a lay over an earlier record wrote over (`replaced`: path → the lstat of the regular file there before), those
 * that were the image's: the machine was reset to a new image since that record, and the new image
 * has a file at a path the layer has. The lay cannot read them before ready, and once laid their
 * bytes are gone; what tells them is their stat. A file is the image's only when all of these hold:
 *
 *   the record was written before this machine started: a reset needs a restart, and without one
 *     the image is the one recorded;
 *   the file was last changed (ctime, which nothing sets back) before this machine started: the
 *     user's own file, written before this sign-in on a reset machine, is not the image's;
 *   no version a layer had there, nor one this machine laid or synced, bears its mtime: a file
 *     laid or synced here before a restart without a reset (which the layer has changed since) is
 *     not the image's.
 *
 * What gets past all three on a machine that was not reset is the user's own edit that no pass
 * synced before a restart: the lay replaced it (the layer wins), and a delete there writes a
 * whiteout instead of a plain delete. Must hold: no file is read.
 */
export function imageFilesReplaced(replaced: ReadonlyMap<string, FileStat>, opts: ReplacedOptions): [string, BaseKind][] {
  if (opts.recordedAt >= opts.bootTime) return [];
  const image: [string, BaseKind][] = [];
  for (const [p, st] of replaced) if (st.ctimeMs < opts.bootTime && !opts.laidHere(p, st)) image.push([p, 'file']);
  return image;
}
