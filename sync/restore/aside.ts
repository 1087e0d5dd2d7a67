/**
 * Keeping the target's entries of another kind (RestoreOptions.aside; a point-in-time restore in
 * place): where the tree has a file or link and the target a folder, or the tree a folder and the
 * target a file or link, the restore would remove the target's entry (fsutil: the snapshot wins).
 * With `aside`, that entry is first moved to a conflict copy beside it, named as live sync names
 * them (`name.sync-conflict-YYYYMMDD-HHMMSS-<device>.ext`, from the entry's own mtime), so the
 * restore writes into an empty place and nothing of the user's is lost.
 *
 * What must hold: only real folders are looked into, top-down, so nothing is followed through a
 * link (a link where the tree has a folder is itself moved aside); a copy's name is free on the
 * disk and is no path the restore writes.
 */
import { rename } from 'node:fs/promises';
import { freeConflictPath } from '../plan/conflict-name.js';
import { breathe, lstatNow, pathInside } from './fsutil.js';
import type { Plan } from './types.js';

export interface MovedAside {
  /** Relative to the target, `/` separated. */
  path: string;
  copy: string;
}

function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
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
    const copy = freeConflictPath(rel, st.mtimeMs, device, taken);
    await rename(path, pathInside(target, copy));
    moved.push({ path: rel, copy });
  }
  return moved;
}
