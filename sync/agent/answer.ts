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
 *
 * With a confirmation whose pass has begun deleting, the record also keeps what that pass deleted
 * and where each file can be taken back from (Confirmed), for a restore the user may still give
 * instead: a restart in between must not lose it. It is for the hold answered only, and goes with
 * the answer; it holds one source per path, so it is never bigger than the files deleted.
 */
import { readFile, rm } from 'node:fs/promises';
import { writeFileAtomic } from '../state/fsutil.js';
import type { HeldDeletes, Restorable } from './guard.js';

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

/** What the confirmation of the hold `id` deleted, and where each file can be taken back from (oldest first). */
export interface Confirmed {
  id: string;
  direction: HeldDeletes['direction'];
  earlier: Restorable[];
}

/**
 * `earlier` (oldest first) with each path kept only in the newest source that has it: what a
 * put-back of them takes, in at most one entry per path.
 */
export function newestSources(earlier: readonly Restorable[]): Restorable[] {
  const from = new Map<string, string>();
  for (const r of earlier) for (const p of r.paths) from.set(p, r.from);
  const bySource = new Map<string, string[]>();
  for (const [p, s] of from) {
    const paths = bySource.get(s);
    if (paths === undefined) bySource.set(s, [p]);
    else paths.push(p);
  }
  return [...bySource].map(([s, paths]) => ({ from: s, paths }));
}

/** True if `a` answers the hold `id` whose pass deletes `paths`. */
export function answers(a: HeldAnswer, id: string, paths: readonly string[]): boolean {
  if (a.id === id) return true;
  if (paths.length === 0) return false;
  const covered = new Set(a.paths);
  return paths.every((p) => covered.has(p));
}

/**
 * Why an answer found no hold to carry out, in words for the user: `present` says which of the
 * files its hold deleted are there after the pass.
 */
export function whyNotCarried(a: HeldAnswer, present: (path: string) => boolean): string {
  if (a.paths.length === 0) return 'nothing is held any more: the files changed after the answer';
  const left = a.paths.filter((p) => !present(p)).length;
  if (left === 0) return 'the files are already back';
  const back = a.paths.length - left;
  const which = back === 0 ? 'the deletes' : `${back} of the ${a.paths.length} files are back, and the deletes of the other ${left}`;
  return `nothing is held any more: ${which} no longer made a mass delete, so they went through`;
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((p) => typeof p === 'string');

/** The answer kept in `file`, and what its confirmation deleted if it has begun to. */
export async function loadAnswer(file: string): Promise<{ answer?: HeldAnswer; confirmed?: Confirmed }> {
  try {
    const v = JSON.parse(await readFile(file, 'utf8')) as (Partial<HeldAnswer> & { confirmed?: Partial<Confirmed> }) | null;
    const ok = v !== null && typeof v === 'object' && typeof v.id === 'string' && v.id !== '' && (v.answer === 'confirm' || v.answer === 'restore');
    if (!ok) return {};
    // Paths that do not check out only cost what is left of a hold cut short: it is asked again.
    const answer = { id: v.id!, answer: v.answer!, paths: isStrings(v.paths) ? v.paths : [] };
    // Sources that do not check out cost a restore given after the confirmation began: the
    // files it deleted stay deleted, and the status says the restore was not carried out.
    const c = v.confirmed;
    const sources = c?.earlier;
    const fine = (c?.direction === 'local' || c?.direction === 'remote') && Array.isArray(sources) && sources.every((r: Partial<Restorable> | null) => typeof r?.from === 'string' && r.from !== '' && isStrings(r.paths));
    return fine ? { answer, confirmed: { id: answer.id, direction: c.direction!, earlier: sources } } : { answer };
  } catch {
    return {};
  }
}

/**
 * Writes `a` to `file` atomically, with `confirmed` if it is for the same hold, or removes the
 * record when there is no answer.
 */
export async function saveAnswer(file: string, a: HeldAnswer | undefined, confirmed?: Confirmed): Promise<void> {
  if (a === undefined) return rm(file, { force: true });
  const c = confirmed?.id === a.id ? { confirmed: { direction: confirmed.direction, earlier: confirmed.earlier } } : {};
  await writeFileAtomic(file, `${JSON.stringify({ version: 1, id: a.id, answer: a.answer, paths: a.paths, ...c })}\n`);
}
