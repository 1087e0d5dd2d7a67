/**
 * The user's answer to a held mass delete (guard.ts): confirm, or restore. It is kept in the
 * folder's state dir (held-answer.json) until a pass carries it out, so that an agent stopped in
 * between — answered while paused, then quit — acts on it at the next start instead of asking
 * again.
 *
 * Must hold: an answer is for the hold it names (HeldDeletes.id), or what is left of it, and no
 * other — a pass that finds another hold, even one with the same counts, or one that grew, asks
 * again; a missing or damaged record is no answer, so the worst a lost record costs is the
 * question asked again. It goes once a pass has carried it out whole, not before: a pass cut
 * short leaves it for the next.
 */
import { readFile, rm } from 'node:fs/promises';
import { writeFileAtomic } from '../state/fsutil.js';

export type Answer = 'confirm' | 'restore';

export interface HeldAnswer {
  /** The hold answered (HeldDeletes.id). */
  id: string;
  answer: Answer;
  /**
   * The paths its pass deletes. A hold of some of them only is what is left of it — a pass that
   * acted on the answer and was cut short (the disk changed under it), or files the user put back
   * by hand — and the answer stands for it; a hold of any other path is another hold.
   */
  paths: readonly string[];
}

/** True if `a` answers the hold `id` whose pass deletes `paths`. */
export function answers(a: HeldAnswer, id: string, paths: readonly string[]): boolean {
  if (a.id === id) return true;
  if (paths.length === 0) return false;
  const covered = new Set(a.paths);
  return paths.every((p) => covered.has(p));
}

export async function loadAnswer(file: string): Promise<HeldAnswer | undefined> {
  try {
    const v = JSON.parse(await readFile(file, 'utf8')) as Partial<HeldAnswer> | null;
    const ok = v !== null && typeof v === 'object' && typeof v.id === 'string' && v.id !== '' && (v.answer === 'confirm' || v.answer === 'restore');
    if (!ok) return undefined;
    // Paths that do not check out only cost what is left of a hold cut short: it is asked again.
    const paths = Array.isArray(v.paths) && v.paths.every((p) => typeof p === 'string') ? v.paths : [];
    return { id: v.id!, answer: v.answer!, paths };
  } catch {
    return undefined;
  }
}

/** Writes `a` to `file` atomically, or removes the record when there is no answer. */
export async function saveAnswer(file: string, a: HeldAnswer | undefined): Promise<void> {
  if (a === undefined) await rm(file, { force: true });
  else await writeFileAtomic(file, `${JSON.stringify({ version: 1, id: a.id, answer: a.answer, paths: a.paths })}\n`);
}
