/**
 * Reading and writing the two files behind a Journal (journal.ts):
 *
 *   <base>.snapshot   header {t:'snapshot', v, gen, seq, count}, `count` set records, {t:'end', count}
 *   <base>.journal    header {t:'journal', v, gen}, then transactions: set {t:'s', p, e} and
 *                     delete {t:'d', p} records closed by a commit marker {t:'c', n}
 *
 * A snapshot is written whole (temp + fsync + rename), so it must be intact: any damage is
 * E_BAD_STATE. A journal grows by appends, so its tail may be torn: replay applies whole
 * transactions up to the first damaged record and reports where the good prefix ends. Commit
 * markers number transactions 1, 2, 3… continuing from the snapshot's `seq`, so a marker out of
 * order also ends the prefix.
 */
import { readFile } from 'node:fs/promises';
import { StrataError } from '../errors.js';
import { encodeRecord, scanRecords } from './records.js';

export const FORMAT_VERSION = 1;

export type Validate<T> = (value: unknown) => T;

export interface LoadedState<T> {
  entries: Map<string, T>;
  /** Bytes of each path's set record: their sum is the size of a fresh snapshot. */
  sizes: Map<string, number>;
  gen: number;
  seq: number;
}

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

export function badState(file: string, reason: string, cause?: unknown): StrataError {
  return new StrataError('E_BAD_STATE', `index file is damaged: ${reason}`, { path: file }, { cause });
}

export async function readOptional(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function checkEntry<T>(validate: Validate<T>, r: Rec, file: string): [string, T] {
  if (typeof r.p !== 'string' || r.p === '') throw badState(file, 'a record has no path');
  try {
    return [r.p, validate(r.e)];
  } catch (err) {
    throw badState(file, `entry for ${JSON.stringify(r.p)} is invalid: ${(err as Error).message}`, err);
  }
}

/** Loads a snapshot; undefined when the file does not exist. Throws E_BAD_STATE on any damage. */
export async function readSnapshot<T>(file: string, validate: Validate<T>): Promise<LoadedState<T> | undefined> {
  const buf = await readOptional(file);
  if (buf === undefined) return undefined;
  const records = scanRecords(buf);
  const head = records.next();
  const h = head.done ? undefined : head.value.value;
  if (!isRec(h) || h.t !== 'snapshot' || h.v !== FORMAT_VERSION || !isCount(h.gen) || !isCount(h.seq) || !isCount(h.count)) {
    throw badState(file, 'bad snapshot header');
  }
  const state: LoadedState<T> = { entries: new Map(), sizes: new Map(), gen: h.gen, seq: h.seq };
  let prevEnd = head.done ? 0 : head.value.end;
  for (const { value, end } of records) {
    if (!isRec(value)) break;
    if (value.t === 'end') {
      if (value.count !== h.count || state.entries.size !== h.count || end !== buf.length) break;
      return state;
    }
    if (value.t !== 's') break;
    const [path, entry] = checkEntry(validate, value, file);
    state.entries.set(path, entry);
    state.sizes.set(path, end - prevEnd);
    prevEnd = end;
  }
  throw badState(file, 'snapshot is truncated or corrupted');
}

export function encodeSnapshot<T>(entries: ReadonlyMap<string, T>, gen: number, seq: number): string {
  const parts = [encodeRecord({ t: 'snapshot', v: FORMAT_VERSION, gen, seq, count: entries.size })];
  for (const [p, e] of entries) parts.push(encodeRecord({ t: 's', p, e }));
  parts.push(encodeRecord({ t: 'end', count: entries.size }));
  return parts.join('');
}

export const encodeJournalHeader = (gen: number): string => encodeRecord({ t: 'journal', v: FORMAT_VERSION, gen });

export type Op<T> = { t: 's'; p: string; e: T } | { t: 'd'; p: string };

export interface ReplayResult {
  /** The journal header's generation, or undefined when the header itself is unreadable. */
  gen: number | undefined;
  /** Byte offset just past the last intact commit marker (or the header): the committed prefix. */
  committedEnd: number;
}

/** Applies the journal's committed transactions to `state` in place. */
export function replayJournal<T>(buf: Buffer, file: string, validate: Validate<T>, state: LoadedState<T>): ReplayResult {
  const records = scanRecords(buf);
  const head = records.next();
  const h = head.done ? undefined : head.value.value;
  if (head.done || !isRec(h) || h.t !== 'journal' || h.v !== FORMAT_VERSION || !isCount(h.gen)) return { gen: undefined, committedEnd: 0 };
  if (h.gen !== state.gen) return { gen: h.gen, committedEnd: head.value.end };
  let committedEnd = head.value.end;
  let pending: Array<{ op: Op<T>; bytes: number }> = [];
  let prevEnd = committedEnd;
  for (const { value, end } of records) {
    if (!isRec(value)) break;
    if (value.t === 'c') {
      if (value.n !== state.seq + 1) break;
      applyOps(state, pending);
      state.seq += 1;
      pending = [];
      committedEnd = end;
    } else if (value.t === 's') {
      const [p, e] = checkEntry(validate, value, file);
      pending.push({ op: { t: 's', p, e }, bytes: end - prevEnd });
    } else if (value.t === 'd' && typeof value.p === 'string') {
      pending.push({ op: { t: 'd', p: value.p }, bytes: 0 });
    } else {
      break;
    }
    prevEnd = end;
  }
  return { gen: h.gen, committedEnd };
}

export function applyOps<T>(state: Pick<LoadedState<T>, 'entries' | 'sizes'>, ops: ReadonlyArray<{ op: Op<T>; bytes: number }>): void {
  for (const { op, bytes } of ops) {
    if (op.t === 's') {
      state.entries.set(op.p, op.e);
      state.sizes.set(op.p, bytes);
    } else {
      state.entries.delete(op.p);
      state.sizes.delete(op.p);
    }
  }
}
