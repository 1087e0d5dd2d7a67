/**
 * `logout --wipe` (DESIGN §4): removes the local copy of the layer from home, after the flush.
 *
 * What must hold: the wipe deletes only what the bucket has. A file goes only if the folder's stat
 * cache — what the last synced pass read and uploaded, or the lay wrote from the bucket — vouches
 * for it as it is on disk now (same size, mtime, mode, inode, ctime; an entry too close to its read
 * to vouch is read again and its chunks compared), a symlink only if the cache has its target. All
 * else stays, and is listed as kept: a name no tree takes (the passes skip it), an unreadable or
 * special file, an excluded path (never uploaded: `policies.exclude` is the org's to choose, not a
 * licence to delete), and anything written since the pass. A directory goes once it is empty.
 * Never the state dir, nor anything through a link: every dir on the way must be a real one.
 */
import { lstat, readdir, readlink, rm, rmdir } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { folderStateDir, sameStat } from '../agent/index.js';
import { layerPath } from '../fsutil.js';
import { InProcessChunker, type FileChunker } from '../snapshot/index.js';
import { openFileIndex, type IndexEntry } from '../state/index.js';
import type { Repository } from '../repo/index.js';
import { sessionFolder, layerFolders } from './folder.js';
import type { Session } from './session.js';

export interface WipeResult {
  /** Home-relative paths removed whole (a folder removed with all under it is named once). */
  wiped: string[];
  /** Home-relative paths left in place because the bucket does not have them as they are. */
  kept: string[];
}

/** How to read a file's chunks as the bucket names them (the repository's format); without it an entry that needs a read is kept. */
export type WipeFormat = Pick<Repository['format'], 'chunker' | 'hash'>;

export async function wipeLayer(session: Session, stateDir: string, format: WipeFormat | undefined, chunker: FileChunker = new InProcessChunker()): Promise<WipeResult> {
  const home = resolve(session.home);
  const kept = resolve(stateDir);
  const out: WipeResult = { wiped: [], kept: [] };
  const relOf = (path: string): string => relative(home, path).split(sep).join('/');
  // No folder state: no pass ran nor lay began here, so nothing on the disk came from the bucket.
  const dir = folderStateDir(stateDir, sessionFolder(session, stateDir));
  const index = (await lstat(dir).catch(() => undefined))?.isDirectory() ? await openFileIndex(dir, 'statcache') : undefined;
  try {
    const vouched = async (path: string, st: Stats): Promise<boolean> => {
      const e = index?.get(relOf(path));
      if (e === undefined) return false;
      if (st.isSymbolicLink()) return e.type === 'symlink' && (await readlink(path).catch(() => undefined)) === e.target;
      if (!st.isFile()) return false;
      if (sameStat(e, st)) return true;
      const { racy, ...stat } = e;
      return racy === true && sameStat(stat, st) && format !== undefined && (await sameChunks(chunker, path, e, format));
    };
    /** Removes what the bucket has under `path`; true when `path` itself is gone. */
    const wipe = async (path: string): Promise<boolean> => {
      if (path === kept) return false;
      const st = await lstat(path).catch((err: unknown) => ((err as NodeJS.ErrnoException).code === 'ENOENT' ? null : undefined));
      if (st === null) return true;
      if (st === undefined) {
        out.kept.push(relOf(path));
        return false;
      }
      if (!st.isDirectory()) {
        if (!(await vouched(path, st))) {
          out.kept.push(relOf(path));
          return false;
        }
        await rm(path, { force: true });
        return true;
      }
      let all = true;
      const gone: string[] = [];
      const names = await readdir(path).catch(() => undefined);
      if (names === undefined) {
        out.kept.push(relOf(path));
        return false;
      }
      for (const name of names) {
        const child = join(path, name);
        if (await wipe(child)) gone.push(child);
        else all = false;
      }
      if (all && !(kept === path || kept.startsWith(path + sep))) {
        await rmdir(path);
        return true;
      }
      out.wiped.push(...gone.map(relOf));
      return false;
    };
    const folders = session.org.folders.includes('.') ? await readdir(home).catch(() => []) : layerFolders(session.org);
    for (const f of folders) {
      const path = layerPath(home, f);
      if (!(await realDirsBetween(home, path))) continue;
      if (await wipe(path)) out.wiped.push(relOf(path));
    }
  } finally {
    await index?.close();
  }
  return { wiped: out.wiped.sort(), kept: out.kept.sort() };
}

async function sameChunks(chunker: FileChunker, path: string, e: IndexEntry, format: WipeFormat): Promise<boolean> {
  if (e.chunks === undefined) return false;
  const read = await chunker.chunkFile(path, format.chunker, { hash: format.hash }).catch(() => undefined);
  return read !== undefined && read.chunks.length === e.chunks.length && read.chunks.every((c, i) => c.id === e.chunks![i]);
}

async function realDirsBetween(home: string, path: string): Promise<boolean> {
  const parts = relative(home, path).split(sep).slice(0, -1);
  for (let i = 1; i <= parts.length; i++) {
    const st = await lstat(join(home, ...parts.slice(0, i))).catch(() => undefined);
    if (!st?.isDirectory()) return false;
  }
  return true;
}
