/**
 * recover(root, journalPath): run at start-up, before any executePlan. For each op the journal
 * shows as started but not finished it removes the op's temp file and reports which state its
 * target is in. Renames are atomic, so a file is either the old version or the new one: never
 * partial bytes. An interrupted move may have renamed without setting mode and mtime yet; that
 * step is finished here so the moved file does not look like a local edit — only on the file the
 * move left, as it left it (its journal's moved lines: inode and ctime). The rename moved the
 * ctime, so size, mtime and mode alone cannot tell it from a same-size edit made at the new name
 * since, its mtime set back: such a file, or one no moved line vouches for, is left as it is
 * (`other`; at worst its old mode and mtime then sync as a local edit).
 *
 * With `seeds`, the temp of an interrupted write not renamed into place, whose writer is gone, is
 * kept and reported instead (a 4 GiB download cut off at 3 GiB holds 3 GiB of its chunks): the
 * caller hands it to its next run (ExecuteOptions.seeds), which takes the chunks it holds, each
 * verified against its id, and removes it. Every other leftover temp goes as before. Until that
 * run, the kept seeds stay named in the journal (clearJournal writes their seed lines), so that a
 * crash before it leaves them to the next recovery: kept again, or removed (without `seeds`, or
 * no longer a temp to keep), never forgotten on the disk.
 *
 * It also reports, per run the journal holds, the ops that run applied: those with a done line
 * and the interrupted ones found in their new state. Those are the only record of what a run
 * killed half-way did, so a caller that must know (the agent counts deletes, guard.ts) keeps the
 * journal (keepJournal) and clears it once it has kept what it needs.
 */
import { readdir, rm } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { ApplyOp, FileNode } from '../plan/index.js';
import { parentOf } from '../plan/nodes.js';
import { STASH_PREFIX } from '../plan/index.js';
import { isStrataError } from '../errors.js';
import { removeTemps } from '../restore/fsutil.js';
import { isErrno, TEMP_PREFIX } from '../fsutil.js';
import { tempInUse } from '../temps.js';
import type { Seed } from './context.js';
import { absPath, badAncestor, lstatOrNull, matches } from './check.js';
import { clearJournal, readFully, type OpenIntent, type RunLabel } from './journal.js';
import { fixMeta } from './act.js';

export interface Interrupted {
  index: number;
  op: ApplyOp;
  /** old: as before the op; new: as after it; other: neither (changed by someone else since). */
  state: 'old' | 'new' | 'other';
}

/** A run the journal held: its label (ExecuteOptions.run), and the ops it applied, in order. */
export interface RecoveredRun {
  label?: RunLabel;
  applied: ApplyOp[];
}

export interface RecoverReport {
  interrupted: Interrupted[];
  runs: RecoveredRun[];
  tempsRemoved: number;
  /**
   * Stash files at the root, left by a plan that did not finish: the caller hands them to the next
   * plan as local files, or (the agent, whose scan skips them) removes them once their bytes are
   * safe elsewhere.
   */
  stashes: string[];
  /** The temps kept for the next run (`seeds`). */
  seeds: Seed[];
}

async function isState(root: string, rel: string, node: Parameters<typeof matches>[2]): Promise<boolean> {
  if ((await badAncestor(root, rel)) !== undefined) return node === null;
  const abs = absPath(root, rel);
  return matches(abs, await lstatOrNull(abs), node);
}

async function sameFile(root: string, a: string, b: string): Promise<boolean> {
  if ((await badAncestor(root, a)) !== undefined || (await badAncestor(root, b)) !== undefined) return false;
  const [x, y] = [await lstatOrNull(absPath(root, a)), await lstatOrNull(absPath(root, b))];
  return x !== null && y !== null && x.ino === y.ino && x.dev === y.dev;
}

/**
 * Whether the file at `rel` is the one a move renamed (the inode of its moved lines), unchanged
 * since one of its steps (their ctimes). Killed between the rename and the line after it, the
 * move left only the inode: then that is all there is to compare.
 */
async function leftByMove(root: string, rel: string, intent: OpenIntent): Promise<boolean> {
  if ((await badAncestor(root, rel)) !== undefined) return false;
  const st = await lstatOrNull(absPath(root, rel));
  const lines = (intent.moved ?? []).filter((m) => m.ino === st?.ino);
  const timed = lines.filter((m) => m.ctimeMs !== undefined);
  return lines.length > 0 && (timed.length === 0 || timed.some((m) => m.ctimeMs === st?.ctimeMs));
}

/**
 * Sets the moved file's mode and mtime: 'new'. A FIFO or link swapped in since the checks
 * (openRegular: ENOTREG, ELOOP) is not ours: it is left as it stands, 'other'.
 */
async function finishMove(abs: string, node: FileNode): Promise<Interrupted['state']> {
  try {
    await fixMeta(abs, node);
    return 'new';
  } catch (err) {
    if (isErrno(err, 'ENOTREG', 'ELOOP')) return 'other';
    throw err;
  }
}

async function stateOf(root: string, intent: OpenIntent): Promise<Interrupted['state']> {
  const { op } = intent;
  if (op.op === 'move') {
    if (await sameFile(root, op.from, op.path)) {
      // A case-only rename on a case-insensitive disk: both names find the one file, intact.
      return (await isState(root, op.path, op.node)) ? 'new' : 'old';
    }
    if ((await isState(root, op.from, op.expectFrom)) && (await isState(root, op.path, op.expect))) return 'old';
    if (!(await isState(root, op.from, null))) return 'other';
    if (await isState(root, op.path, op.node)) return 'new';
    // Renamed, and fixMeta (chmod, then utimes) was cut off before it began or between its steps.
    const chmodded = { ...op.expectFrom, mode: op.node.mode };
    if (!(await isState(root, op.path, op.expectFrom)) && !(await isState(root, op.path, chmodded))) return 'other';
    if (!(await leftByMove(root, op.path, intent))) return 'other';
    return finishMove(absPath(root, op.path), op.node);
  }
  if (await isState(root, op.path, op.op === 'delete' ? null : op.node)) return 'new';
  return (await isState(root, op.path, op.expect)) ? 'old' : 'other';
}

/** Removes an op's temp file if it is there, reached through real dirs only. */
async function removeTemp(root: string, tmp: string | undefined): Promise<boolean> {
  if (tmp === undefined || !(tmp.split('/').pop() ?? '').startsWith(TEMP_PREFIX)) return false;
  if ((await badAncestor(root, tmp)) !== undefined || (await lstatOrNull(absPath(root, tmp))) === null) return false;
  await rm(absPath(root, tmp), { force: true });
  return true;
}

/** The interrupted write's temp as a seed: a regular file reached through real dirs, its writer gone. */
async function seedOf(root: string, intent: OpenIntent): Promise<Seed | undefined> {
  const { op, tmp } = intent;
  return op.op !== 'write' || tmp === undefined ? undefined : keptSeed(root, { path: op.path, tmp, node: op.node });
}

/** `seed` if its temp is still one to keep: a regular file reached through real dirs, its writer gone. */
async function keptSeed(root: string, seed: Seed): Promise<Seed | undefined> {
  const { tmp } = seed;
  if (!basename(tmp).startsWith(TEMP_PREFIX)) return undefined;
  if ((await badAncestor(root, tmp)) !== undefined || !(await lstatOrNull(absPath(root, tmp)))?.isFile()) return undefined;
  return tempInUse(absPath(root, tmp), basename(tmp)) ? undefined : seed;
}

/**
 * With `keepJournal`, the journal is left for the caller to clear (clearJournal, handing it the
 * seeds); with `seeds`, the temps of interrupted writes are kept for the next run (see the header).
 */
export async function recover(root: string, journalPath: string, opts: { keepJournal?: boolean; seeds?: boolean } = {}): Promise<RecoverReport> {
  const dirs = new Set<string>(['']);
  const seeds = new Map<string, Seed>();
  let tempsRemoved = 0;
  const interrupted: Interrupted[] = [];
  const runs: RecoveredRun[] = [];
  const journal = await readFully(journalPath);
  // The seeds an earlier recovery kept that no run has taken yet: kept again, or removed. First,
  // as a run's temp for the same path is a later one.
  for (const kept of journal.seeds) {
    try {
      // A line naming a path outside the root cannot be ours: touch nothing (E_BAD_PATH), as for an intent.
      absPath(root, kept.path);
      absPath(root, kept.tmp);
      const seed = opts.seeds === true ? await keptSeed(root, kept) : undefined;
      if (seed !== undefined) seeds.set(seed.path, seed);
      else if (await removeTemp(root, kept.tmp)) tempsRemoved++;
      dirs.add(parentOf(kept.path));
    } catch (err) {
      if (!isStrataError(err, 'E_BAD_PATH')) throw err;
    }
  }
  for (const run of journal.runs) {
    const applied = [...run.applied];
    for (const intent of run.open) {
      try {
        const state = await stateOf(root, intent);
        const seed = opts.seeds === true && state !== 'new' ? await seedOf(root, intent) : undefined;
        // A later run's temp for the same path holds the later version's chunks.
        if (seed !== undefined) seeds.set(seed.path, seed);
        else if (await removeTemp(root, intent.tmp)) tempsRemoved++;
        interrupted.push({ index: intent.i, op: intent.op, state });
        if (state === 'new') applied.push(intent.op);
        dirs.add(parentOf(intent.op.path));
      } catch (err) {
        // A journal line naming a path outside the root cannot be ours: report it, touch nothing.
        if (!isStrataError(err, 'E_BAD_PATH')) throw err;
        interrupted.push({ index: intent.i, op: intent.op, state: 'other' });
      }
    }
    runs.push({ ...(run.label !== undefined && { label: run.label }), applied });
  }
  const keep = new Set([...seeds.values()].map((s) => resolve(absPath(root, s.tmp))));
  for (const d of dirs) {
    // Only through real dirs: a link planted on the way must not lead the cleanup elsewhere.
    if (d === '' || ((await badAncestor(root, `${d}/x`)) === undefined)) tempsRemoved += await removeTemps([d === '' ? root : absPath(root, d)], keep);
  }
  const stashes = (await readdir(root)).filter((n) => n.startsWith(STASH_PREFIX)).sort();
  if (opts.keepJournal !== true) await clearJournal(journalPath, [...seeds.values()]);
  return { interrupted, runs, tempsRemoved, stashes, seeds: [...seeds.values()] };
}
