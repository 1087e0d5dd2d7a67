/**
 * The user's answer to a held mass delete (guard.ts): confirm, or restore. It is kept in the
 * folder's state dir (held-answer.json) until a pass carries it out, so that an agent stopped in
 * between — answered while paused, then quit — acts on it at the next start instead of asking
 * again.
 *
 * Must hold: an answer is for the hold it names (HeldDeletes.id) and no other — a pass that finds
 * another hold, even one with the same counts, asks again; a missing or damaged record is no
 * answer, so the worst a lost record costs is the question asked again.
 */
import { readFile, rm } from 'node:fs/promises';
import { writeFileAtomic } from '../state/fsutil.js';

export type Answer = 'confirm' | 'restore';

export interface HeldAnswer {
  /** The hold answered (HeldDeletes.id). */
  id: string;
  answer: Answer;
}

export async function loadAnswer(file: string): Promise<HeldAnswer | undefined> {
  try {
    const v = JSON.parse(await readFile(file, 'utf8')) as Partial<HeldAnswer> | null;
    const ok = v !== null && typeof v === 'object' && typeof v.id === 'string' && v.id !== '' && (v.answer === 'confirm' || v.answer === 'restore');
    return ok ? { id: v.id!, answer: v.answer! } : undefined;
  } catch {
    return undefined;
  }
}

/** Writes `a` to `file` atomically, or removes the record when there is no answer. */
export async function saveAnswer(file: string, a: HeldAnswer | undefined): Promise<void> {
  if (a === undefined) await rm(file, { force: true });
  else await writeFileAtomic(file, `${JSON.stringify({ version: 1, id: a.id, answer: a.answer })}\n`);
}
