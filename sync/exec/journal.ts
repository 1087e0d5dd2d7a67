/**
 * The executor's journal: append-only JSON lines next to the layer's state.
 *
 *   {"run":{…}}                                  the caller's label of the run (ExecuteOptions.run),
 *                                                first, when it gave one
 *   {"i":3,"tmp":"a/.strata-tmp-…","op":{…}}   intent, fsynced before the op touches the disk
 *   {"done":3}                                   the op was applied (not fsynced: recovery
 *                                                re-checks the disk for any op without one)
 *   {"done":3,"changed":true}                    the op found its target changed: not applied
 *   {"moved":3,"ino":…}                          a move is about to rename its file, of this inode
 *   {"moved":3,"ino":…,"ctimeMs":…}              and has renamed it: its inode and ctime before
 *                                                each step that sets its mode and mtime (neither
 *                                                fsynced)
 *   {"seed":{"path":…,"tmp":…,"node":…}}         a temp a recovery kept for the next run (recover.ts),
 *                                                written by clearJournal: the next recovery finds
 *                                                it again, whichever run's journal follows
 *
 * The intents of a batch of writes are appended and fsynced together, before the first of them
 * starts: recovery then finds some that never started, whose targets are still in their old
 * state. That holds only for ops none of which changes what another one expects (writes of
 * distinct paths, execute.ts), so nothing else is journaled ahead.
 *
 * A journal empty but for seed lines, or missing, means no plan is in progress. It is truncated
 * once a plan stops (the run has removed its seeds by then), or, when the caller keeps it
 * (ExecuteOptions.keepJournal), once the caller has kept what it needs of the run; until then it
 * may hold one finished run after another. A torn last line
 * (crash while appending) is ignored: its op had not started.
 *
 * A move's moved lines let recovery finish its mode and mtime only on the file it renamed, as it
 * left it: the rename moved the file's ctime, so its stat alone cannot tell it from a same-size
 * edit made at the new name since, its mtime set back. Lines lost with a power cut leave the file
 * as it is (recover.ts).
 */
import { constants } from 'node:fs';
import { open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StrataError } from '../errors.js';
import type { ApplyOp } from '../plan/index.js';
import { fsyncDir, isErrno, onFile } from '../fsutil.js';
import type { Seed } from './context.js';
import type { OpResult } from './outcome.js';

export interface Intent {
  i: number;
  /** The temp file this op may create (layer-relative), so recovery can remove it. */
  tmp?: string;
  op: ApplyOp;
}

/** A moved file as the executor left it before one of its steps (a moved line); no ctime: before the rename. */
export interface MovedStat {
  ino: number;
  ctimeMs?: number;
}

/** An intent as read back: with a move's moved lines. */
export interface OpenIntent extends Intent {
  moved?: MovedStat[];
}

/** What the caller names a run by (ExecuteOptions.run): any JSON object, handed back by recover(). */
export type RunLabel = object;

/** One run as its journal lines tell it. */
export interface JournalRun {
  label?: RunLabel;
  /** The ops it applied (done lines), in order. */
  applied: ApplyOp[];
  /** Intents without a done line: ops that may have started and not finished, in order. */
  open: OpenIntent[];
}

/** Every write and fsync of the journal goes through its handle's calls, each naming the journal on failure (onFile). */
export class Journal {
  private constructor(
    private readonly path: string,
    private readonly fh: FileHandle,
  ) {}

  /**
   * Opens the journal for a new plan, labelled `label`; refuses one that still holds an
   * unrecovered plan. The label is made durable with the first intent.
   */
  static async open(path: string, label?: RunLabel): Promise<Journal> {
    if ((await readJournal(path)).length > 0) {
      throw new StrataError('E_EXEC_JOURNAL_PENDING', 'a previous apply did not finish: run recover first', { path });
    }
    const journal = new Journal(path, await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND, 0o600));
    if (label !== undefined) await journal.append(`${JSON.stringify({ run: label })}\n`);
    return journal;
  }

  /** Appends the intents, durable when this resolves (one fsync however many). */
  async intents(entries: readonly Intent[]): Promise<void> {
    await this.append(entries.map((e) => `${JSON.stringify(e)}\n`).join(''));
    await onFile(this.path, () => this.fh.sync());
  }

  /** The ops' done lines, in one write (not fsynced: see the header); one not applied says so. */
  async done(...results: readonly Pick<OpResult, 'index' | 'status'>[]): Promise<void> {
    if (results.length === 0) return;
    await this.append(results.map((r) => `${JSON.stringify(r.status === 'applied' ? { done: r.index } : { done: r.index, changed: true })}\n`).join(''));
  }

  /** Move `index`'s file has stat `st` now, before one of its steps (not fsynced: see the header). */
  async moved(index: number, st: MovedStat): Promise<void> {
    await this.append(`${JSON.stringify({ moved: index, ino: st.ino, ...(st.ctimeMs !== undefined && { ctimeMs: st.ctimeMs }) })}\n`);
  }

  /** The plan stopped with no op in flight: nothing is left to recover. */
  async finish(): Promise<void> {
    await onFile(this.path, async () => {
      await this.fh.truncate(0);
      await this.fh.sync();
    });
    await this.fh.close();
  }

  async close(): Promise<void> {
    await this.fh.close();
  }

  private async append(lines: string): Promise<void> {
    await onFile(this.path, () => this.fh.write(lines));
  }
}

/** Intents without a matching done line, in order. */
export async function readJournal(path: string): Promise<OpenIntent[]> {
  return (await readRuns(path)).flatMap((r) => r.open);
}

/** The runs the journal holds, oldest first; a journal without labels holds one, unlabelled. */
export async function readRuns(path: string): Promise<JournalRun[]> {
  return (await readFully(path)).runs;
}

/** The journal's runs (readRuns) and the seeds its seed lines name, in order. */
export async function readFully(path: string): Promise<{ runs: JournalRun[]; seeds: Seed[] }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return { runs: [], seeds: [] };
    throw err;
  }
  const runs: Array<{ label?: RunLabel; intents: Map<number, OpenIntent>; done: Map<number, boolean> }> = [];
  const seeds: Seed[] = [];
  for (const line of text.split('\n')) {
    const entry = parseLine(line);
    if (entry === undefined) continue;
    if ('seed' in entry) {
      seeds.push(entry.seed);
      continue;
    }
    if ('run' in entry || runs.length === 0) runs.push({ ...('run' in entry && { label: entry.run }), intents: new Map(), done: new Map() });
    const run = runs[runs.length - 1]!;
    if ('done' in entry) run.done.set(entry.done, entry.changed !== true);
    else if ('moved' in entry) {
      const intent = run.intents.get(entry.moved);
      if (intent !== undefined) (intent.moved ??= []).push({ ino: entry.ino, ...(entry.ctimeMs !== undefined && { ctimeMs: entry.ctimeMs }) });
    } else if ('i' in entry) {
      // An index met again is a later unlabelled run's op: it is open until its own done line.
      run.intents.set(entry.i, { i: entry.i, ...(entry.tmp !== undefined && { tmp: entry.tmp }), op: entry.op });
      run.done.delete(entry.i);
    }
  }
  const told = runs.map(({ label, intents, done }) => {
    const sorted = [...intents.values()].sort((a, b) => a.i - b.i);
    return {
      ...(label !== undefined && { label }),
      applied: sorted.flatMap((x) => (done.get(x.i) === true ? [x.op] : [])),
      open: sorted.filter((x) => !done.has(x.i)),
    };
  });
  return { runs: told, seeds };
}

type Line = Intent | { done: number; changed?: boolean } | ({ moved: number } & MovedStat) | { run: RunLabel } | { seed: Seed };

function parseLine(line: string): Line | undefined {
  if (line.trim() === '') return undefined;
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined; // a torn append
  }
  if (typeof v === 'object' && v !== null) {
    if (typeof (v as { done?: unknown }).done === 'number') return v as { done: number; changed?: boolean };
    const m = v as { moved?: unknown; ino?: unknown; ctimeMs?: unknown };
    if (typeof m.moved === 'number' && typeof m.ino === 'number' && (m.ctimeMs === undefined || typeof m.ctimeMs === 'number')) return v as { moved: number } & MovedStat;
    if (typeof (v as Intent).i === 'number' && typeof (v as Intent).op === 'object') return v as Intent;
    const run = (v as { run?: unknown }).run;
    if (typeof run === 'object' && run !== null && !Array.isArray(run)) return { run: run as RunLabel };
    const seed = (v as { seed?: Partial<Seed> }).seed;
    if (typeof seed?.path === 'string' && typeof seed.tmp === 'string' && typeof seed.node === 'object' && seed.node !== null) return { seed: seed as Seed };
  }
  return undefined;
}

/**
 * Empties the journal but for a seed line per seed of `keep` (recover()'s, no run has taken yet).
 * Those are written beside it and renamed over it: a crash leaves the old journal or the new one.
 */
export async function clearJournal(path: string, keep: readonly Seed[] = []): Promise<void> {
  const next = keep.length === 0 ? path : `${path}.next`;
  const fh = await open(next, constants.O_WRONLY | constants.O_CREAT, 0o600);
  try {
    // Named as the journal, which a user knows of: a `.next` left is rewritten by the next clear.
    await onFile(path, async () => {
      await fh.truncate(0);
      if (keep.length > 0) await fh.write(keep.map((seed) => `${JSON.stringify({ seed })}\n`).join(''));
      await fh.sync();
    });
  } finally {
    await fh.close();
  }
  if (next === path) return;
  await rename(next, path);
  await fsyncDir(dirname(path));
}
