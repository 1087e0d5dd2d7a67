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
 *
 * A folder keeps its answer, and carries it out, with HeldAnswers: a pass reads the answer at its
 * start (read), and carries out or drops that one only; one given while it runs stays for the next.
 */
import { readFile, rm } from 'node:fs/promises';
import type { NotCarried } from '../../shared/agent-api.js';
import { describeError, StrataError } from '../errors.js';
import { writeFileAtomic } from '../state/fsutil.js';
import type { DeleteCounts, DeleteHistory, HeldDeletes, Restorable } from './guard.js';

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

type Direction = HeldDeletes['direction'];

/** A pass that carries out the answer it read (HeldAnswers.read). */
export interface Carrying {
  carried: HeldAnswer;
  /** The hold it found confirmed, or restored (then put back with the hour's deletes). */
  act: Answer;
  /** The direction whose deletes it settles. */
  direction: Direction;
  /** For a restore of the hold: what its confirmation already deleted. */
  confirmed: Confirmed | undefined;
}

/** The answer as a pass read it at its start (HeldAnswers.read): one given later is not its to carry out or drop. */
export type PassAnswer = Carrying | { carried: HeldAnswer | undefined; act?: undefined; direction?: undefined; confirmed?: undefined };

/**
 * What a restore that `pass` carries out puts back besides the deletes held, newest first: what
 * its direction's passes deleted in the hour (`history`), and what the confirmation of its hold
 * already deleted.
 */
export function restoreEarlier(pass: Carrying, history: DeleteHistory, now: number): Restorable[] {
  const { confirmed, direction } = pass;
  const earlier = [...(confirmed?.direction === direction ? confirmed.earlier : []), ...history.restorable(direction, now)];
  // Newest first: putBack keeps the first version it meets of a path, and a path deleted,
  // written again and deleted again in the hour must come back as it was last.
  return earlier.reverse();
}

/**
 * A folder's answer to its holds: the answer until a pass carries it out, kept in `file` (without
 * one, in memory only), what its confirmation deleted, and the hold a pass last returned.
 */
export class HeldAnswers {
  /** The user's answer to a hold, until a pass carries it out. */
  private answer: HeldAnswer | undefined;
  /** The answer a pass cut short began to carry out, while it is still the answer (set). */
  private begun: Answer | undefined;
  /**
   * What the last confirmation deleted, and where each file can be taken back from, while the user
   * may still change that answer to restore (read): the hold stays in the status until the pass
   * carrying it out ends, or while it ends cut short. Settled, those deletes are in no
   * DeleteHistory entry any more; so it is kept with the answer, and goes with it.
   */
  private confirmed: Confirmed | undefined;
  /** The last save of `answer` (and `confirmed`): saves run one after another. */
  private saved: Promise<void> = Promise.resolve();
  /** The last hold a pass returned, and the paths its pass deletes: what an answer to it covers. */
  private lastHold: { id: string; paths: readonly string[] } | undefined;

  constructor(private readonly file: string | undefined) {}

  /** Takes in the answer kept in the file, and what its confirmation deleted. */
  async load(): Promise<void> {
    if (this.file) ({ answer: this.answer, confirmed: this.confirmed } = await loadAnswer(this.file));
  }

  /** True while an answer waits for a pass to carry it out, or to say why it cannot. */
  get waiting(): boolean {
    return this.answer !== undefined;
  }

  /** True while what a confirmation deleted is kept: a restore of its hold may still come. */
  get confirmedKept(): boolean {
    return this.confirmed !== undefined;
  }

  /** Takes `answer` to `held` for the next pass, if that one holds the same deletes. */
  give(held: HeldDeletes, answer: Answer): Promise<void> {
    return this.set({ id: held.id, answer, paths: this.pathsOf(held) });
  }

  /** The answer the next pass acts on if it holds `held` again: one given while a pass ran stays for the next. */
  answerFor(held: HeldDeletes, paths = this.pathsOf(held)): Answer | undefined {
    return this.answer !== undefined && answers(this.answer, held.id, paths) ? this.answer.answer : undefined;
  }

  /** A pass returned the hold `held`, whose pass deletes `paths`: what an answer to it covers. */
  asked(held: HeldDeletes, paths: readonly string[]): void {
    this.lastHold = { id: held.id, paths };
  }

  private pathsOf(held: HeldDeletes): readonly string[] {
    return this.lastHold?.id === held.id ? this.lastHold.paths : [];
  }

  /**
   * The answer as a pass reads it at its start, the pass holding `held` (undefined: none) with
   * `deletes`: what it carries out — the hold confirmed or restored, or with none held, a restore
   * of one whose confirmation already deleted files. An answer to another hold is dropped.
   */
  async read(held: HeldDeletes | undefined, deletes: DeleteCounts): Promise<PassAnswer> {
    const carried = this.answer;
    const answer = held === undefined ? undefined : this.answerFor(held, deletes[held.direction].paths ?? []);
    // A restore of a hold whose confirmation already deleted files (the user changed the answer
    // while its pass ran): those files come back too, held again or not.
    const confirmed = carried?.answer === 'restore' && carried.id === this.confirmed?.id ? this.confirmed : undefined;
    // An answer to another hold is none to this one: the user is asked about what this pass holds.
    if (held !== undefined && answer === undefined) await this.set(undefined);
    if (carried !== undefined && held !== undefined && answer !== undefined) return { carried, act: answer, direction: held.direction, confirmed };
    if (carried !== undefined && held === undefined && confirmed !== undefined) return { carried, act: 'restore', direction: confirmed.direction, confirmed };
    return { carried };
  }

  /** True if the user changed their answer since `pass` read it. */
  changedSince(pass: PassAnswer): boolean {
    return this.answer !== pass.carried;
  }

  /**
   * Keeps what the confirmation `pass` carries out deletes (`deleted`, oldest first), with what a
   * pass it cut short deleted, for a restore given before its hold leaves the status: in the file
   * too, before it deletes.
   */
  keepConfirmed(pass: Carrying, deleted: readonly Restorable[]): Promise<void> {
    const kept = this.confirmed?.id === pass.carried.id ? this.confirmed.earlier : [];
    this.confirmed = { id: pass.carried.id, direction: pass.direction, earlier: newestSources([...kept, ...deleted]) };
    return this.save();
  }

  /** A pass carrying out `answered` was cut short: the next one finishes it (unfinished). */
  cutShort(answered: Answer): void {
    this.begun = answered;
  }

  /**
   * While an answer waits, the one a pass cut short began to carry out: it is carried out, whether
   * or not what that pass left still makes a hold.
   */
  get unfinished(): Answer | undefined {
    return this.answer === undefined ? undefined : this.begun;
  }

  /**
   * The pass that read `pass` wrote its head, having carried out `answered` (undefined: none): the
   * answer it read goes, unless the user changed it meanwhile. Returns, for an answer that found no
   * hold, why it was not carried out; `present` says which files the pass left on the disk.
   */
  async done(pass: PassAnswer, answered: Answer | undefined, present: (path: string) => boolean): Promise<NotCarried | undefined> {
    const { carried } = pass;
    // An answer that found no hold (the files came back, or what is left no longer makes a mass
    // delete) is not carried out: it goes too, and the user is told why.
    const notCarried = answered === undefined && carried !== undefined && this.answer === carried ? { answer: carried.answer, why: whyNotCarried(carried, present) } : undefined;
    // Once the answer is carried out, no restore of what a confirmation deleted can come (set).
    if (this.answer === carried) await this.set(undefined);
    return notCarried;
  }

  /**
   * Takes `a` as the answer, at once, and keeps it in the file. Each save writes the answer as it
   * is when the save runs, so the last one leaves the record as the folder has it, whatever order
   * the callers meet.
   */
  private set(a: HeldAnswer | undefined): Promise<void> {
    if (a === undefined && this.answer === undefined) return this.saved;
    this.answer = a;
    this.begun = undefined;
    // What a confirmation deleted is kept for a restore of its hold only.
    if (this.confirmed?.id !== a?.id) this.confirmed = undefined;
    return this.save();
  }

  private save(): Promise<void> {
    const file = this.file;
    if (file === undefined) return Promise.resolve();
    const saved = this.saved.then(() => saveAnswer(file, this.answer, this.confirmed));
    this.saved = saved.catch(() => undefined);
    return saved.catch((err: unknown) => {
      throw new StrataError('E_ANSWER_NOT_KEPT', `could not record the answer to the held deletes (a restart would not know it): ${describeError(err)}`, { path: file }, { cause: err });
    });
  }
}
