/**
 * After the executor ran: the local tree learns what the disk now holds at every path an op
 * touched, so the next scan does not re-hash the files the agent itself wrote.
 *
 * Must hold: an entry is recorded with the plan's content only when the disk shows exactly the
 * stat the executor left (size, mtime to the ms, mode, and the ctime where the executor kept it:
 * a same-size edit with its mtime set back shows only there). Anything else — the user wrote the
 * file again in between — is dropped from the tree and left for the scan to hash, never assumed.
 */
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Stats } from 'node:fs';
import type { OpResult } from '../exec/index.js';
import type { Node } from '../plan/index.js';
import { modeOf, mtimeOf } from '../snapshot/context.js';
import type { IndexEntry } from '../state/index.js';
import type { LocalTree } from './local.js';
import { racyFlag } from './walk.js';
import type { ChunkMap } from './trees.js';

async function lstatOrNull(path: string): Promise<Stats | null> {
  try {
    return await lstat(path);
  } catch {
    return null;
  }
}

function entryFor(node: Node, st: Stats, chunks: ChunkMap, left: number | undefined): IndexEntry | undefined {
  const now = Date.now();
  switch (node.type) {
    case 'dir':
      return st.isDirectory() ? { type: 'dir', size: 0, mtimeMs: mtimeOf(st), mode: modeOf(st), ino: st.ino, ...racyFlag(mtimeOf(st), now) } : undefined;
    case 'symlink':
      return st.isSymbolicLink() ? { type: 'symlink', size: 0, mtimeMs: mtimeOf(st), mode: modeOf(st), target: node.target } : undefined;
    case 'file': {
      const ids = chunks.get(node.content);
      const same = st.isFile() && st.size === node.size && mtimeOf(st) === node.mtimeMs && modeOf(st) === node.mode && (left === undefined || st.ctimeMs === left);
      return same && ids !== undefined ? { type: 'file', size: st.size, mtimeMs: node.mtimeMs, mode: node.mode, ino: st.ino, ctimeMs: st.ctimeMs, chunks: ids, ...racyFlag(node.mtimeMs, now) } : undefined;
    }
    default:
      return undefined;
  }
}

/** Updates `local` for every applied op; returns the paths the next scan must look at. */
export async function recordApplied(local: LocalTree, root: string, results: readonly OpResult[], chunks: ChunkMap): Promise<string[]> {
  const rescan: string[] = [];
  for (const r of results) {
    const { op } = r;
    if (r.status === 'changed') {
      rescan.push(op.path, r.path);
      continue;
    }
    if (op.op === 'move') local.remove(op.from);
    if (op.op === 'delete') {
      local.remove(op.path);
      continue;
    }
    const st = await lstatOrNull(join(root, op.path));
    const entry = st === null ? undefined : entryFor(op.node, st, chunks, r.ctimeMs);
    if (entry === undefined) {
      // Not what the executor left: the scan decides what it is.
      if (local.get(op.path)?.type !== 'dir' || op.node.type !== 'dir') local.remove(op.path);
      rescan.push(op.path);
    } else {
      if (entry.type !== 'dir' && local.get(op.path)?.type === 'dir') local.remove(op.path);
      local.set(op.path, entry);
    }
  }
  return rescan;
}
