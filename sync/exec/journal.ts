/**
 * The executor's journal: append-only JSON lines next to the layer's state.
 *
 *   {"i":3,"tmp":"a/.strata-tmp-…","op":{…}}   intent, fsynced before the op touches the disk
 *   {"done":3}                                   the op finished (not fsynced: recovery re-checks
 *                                                the disk for any op without one)
 *
 * An empty or missing journal means no plan is in progress. It is truncated once a plan stops.
 * A torn last line (crash while appending) is ignored: its op had not started.
 */
import { constants } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { StrataError } from '../errors.js';
import type { ApplyOp } from '../plan/index.js';
import { isErrno } from '../fsutil.js';

export interface Intent {
  i: number;
  /** The temp file this op may create (layer-relative), so recovery can remove it. */
  tmp?: string;
  op: ApplyOp;
}

export class Journal {
  private constructor(private readonly fh: FileHandle) {}

  /** Opens the journal for a new plan; refuses one that still holds an unrecovered plan. */
  static async open(path: string): Promise<Journal> {
    if ((await readJournal(path)).length > 0) {
      throw new StrataError('E_EXEC_JOURNAL_PENDING', 'a previous apply did not finish: run recover first', { path });
    }
    return new Journal(await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND, 0o600));
  }

  async intent(entry: Intent): Promise<void> {
    await this.fh.write(`${JSON.stringify(entry)}\n`);
    await this.fh.sync();
  }

  async done(i: number): Promise<void> {
    await this.fh.write(`${JSON.stringify({ done: i })}\n`);
  }

  /** The plan stopped with no op in flight: nothing is left to recover. */
  async finish(): Promise<void> {
    await this.fh.truncate(0);
    await this.fh.sync();
    await this.fh.close();
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** Intents without a matching done line, in order. */
export async function readJournal(path: string): Promise<Intent[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
  const open = new Map<number, Intent>();
  for (const line of text.split('\n')) {
    const entry = parseLine(line);
    if (entry === undefined) continue;
    if ('done' in entry) open.delete(entry.done);
    else open.set(entry.i, entry);
  }
  return [...open.values()].sort((a, b) => a.i - b.i);
}

function parseLine(line: string): Intent | { done: number } | undefined {
  if (line.trim() === '') return undefined;
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined; // a torn append
  }
  if (typeof v === 'object' && v !== null) {
    if (typeof (v as { done?: unknown }).done === 'number') return v as { done: number };
    if (typeof (v as Intent).i === 'number' && typeof (v as Intent).op === 'object') return v as Intent;
  }
  return undefined;
}

export async function clearJournal(path: string): Promise<void> {
  const fh = await open(path, constants.O_WRONLY | constants.O_CREAT, 0o600);
  try {
    await fh.truncate(0);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
