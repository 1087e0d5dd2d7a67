/**
 * Keeping both versions of a conflict (FolderRuntime.resolveConflict, keep "both"): the copy is
 * renamed to an ordinary name beside the file, one that says where its version came from and is
 * no conflict copy any more, so the conflict leaves the list and both files sync on:
 *
 *   report.sync-conflict-20261207-093100-laptop-7.docx  →  report (laptop-7 2026-12-07 10.31).docx
 *
 * The device and the time are the copy's name's (the time in this machine's local time, to the
 * minute; `.` between hours and minutes, as Windows allows no `:` in a name). Where that name is
 * taken, a counter goes inside the parentheses (`… 10.31 2)`, `3` …), the first free one.
 *
 * Must hold: nothing on the disk is ever replaced. A name is taken if a sibling has it in any case
 * (whatever this disk does: a case-insensitive layer, or the Windows and macOS machines it syncs
 * to, would hold the two as one and set one aside as a conflict copy again), and the rename
 * claims the name before it moves the copy (renameNoReplace): a name made meanwhile is skipped
 * for the next one, never written over. A keep cut off by a crash leaves the copy whole, maybe
 * under its kept name too (never an empty file there): keeping both again ends it under that name.
 */
import { readdir } from 'node:fs/promises';
import type { ConflictInfo } from '../../shared/agent-api.js';
import { finishMove, layerPath, renameNoReplace } from '../fsutil.js';
import { foldKey } from '../plan/casefold.js';
import { splitExtension, withTail } from '../plan/conflict-name.js';
import { MARKER } from './conflicts.js';

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** `YYYY-MM-DD HH.MM` in local time, of a conflict stamp (`YYYYMMDD-HHMMSS`, UTC); undefined for one no date holds. */
export function stampWords(stamp: string): string | undefined {
  const m = /^(\d{4})(\d\d)(\d\d)-(\d\d)(\d\d)(\d\d)$/.exec(stamp);
  if (m === null) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const at = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  if (Number.isNaN(at.getTime())) return undefined;
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${pad(at.getHours())}.${pad(at.getMinutes())}`;
}

/** The stamp in a conflict copy's name (the last `.sync-conflict-` in it: a stem may hold one too). */
function stampOf(copy: string): string {
  const at = copy.lastIndexOf(MARKER) + MARKER.length;
  return copy.slice(at, at + 15);
}

/** The name the copy of `c` takes (a file name, not a path); `n` > 1 adds the counter. No longer than a name may be (withTail). */
export function keptName(c: ConflictInfo, n = 1): string {
  const name = c.path.slice(c.path.lastIndexOf('/') + 1);
  const [stem, ext] = splitExtension(name);
  const when = stampWords(stampOf(c.copy));
  return withTail(stem, ext, ` (${[c.device, when, n > 1 ? String(n) : undefined].filter((x) => x !== undefined).join(' ')})`);
}

/** The names in each folder (layer path, '' the root) as foldKey makes them: read once for many keeps in one folder. */
export type FoldedNames = Map<string, Set<string>>;

/**
 * Renames the copy of `c` (checked by the caller: plain paths, real folders on the way, both
 * versions there) to its first free kept name beside the file; returns that layer path. `folded`
 * keeps the folder's names between calls (folding 2,000 names for each of 1,000 keeps takes
 * seconds); one made since is still never replaced (renameNoReplace), only maybe the same name
 * in another case.
 */
export async function keepBoth(root: string, c: ConflictInfo, folded: FoldedNames = new Map()): Promise<string> {
  const dir = c.path.slice(0, c.path.lastIndexOf('/') + 1);
  let siblings = folded.get(dir);
  if (siblings === undefined) {
    siblings = new Set((await readdir(layerPath(root, dir.slice(0, -1)))).map(foldKey));
    folded.set(dir, siblings);
  }
  for (let n = 1; ; n++) {
    const name = keptName(c, n);
    const key = foldKey(name);
    const [from, to] = [layerPath(root, c.copy), layerPath(root, dir + name)];
    if (siblings.has(key)) {
      // A keep cut off (a crash) may have left the copy under this name as well: it ends here.
      if (await finishMove(from, to)) return dir + name;
      continue;
    }
    siblings.add(key);
    if (await renameNoReplace(from, to)) return dir + name;
  }
}
