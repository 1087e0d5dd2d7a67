/**
 * A crash-safe persistent map from string keys to JSON values: a snapshot file plus an
 * append-only journal of transactions (file formats in replay.ts), with every read served from
 * an in-memory Map.
 *
 * Must hold:
 * - after `commit()` resolves, the transaction is durable (written and fsynced);
 * - after a crash at any point, open gives exactly the state of the last transaction whose commit
 *   marker reached the disk intact — never part of a transaction; a torn tail is cut off on open
 *   so that later appends never follow garbage;
 * - compaction never loses a committed transaction: the new snapshot (generation g+1) is durable
 *   before the journal is replaced by an empty one of generation g+1; a journal older than the
 *   snapshot is stale and dropped on open;
 * - one process at a time: the journal is not locked, so the agent must own its state dir.
 */
import { open, truncate, type FileHandle } from 'node:fs/promises';
import { StrataError, whatFailed } from '../errors.js';
import { onFile, writeAll } from '../fsutil.js';
import { writeFileAtomic } from './fsutil.js';
import { encodeRecord } from './records.js';
import {
  applyOps, badState, encodeJournalHeader, encodeSnapshot, readOptional, readSnapshot, replayJournal,
  type LoadedState, type Op, type Validate,
} from './replay.js';

export interface JournalOptions<T> {
  /** Checks a stored value and returns it typed; throws (any Error) when it is not a valid T. */
  validate: Validate<T>;
  /** Compact after a commit once the journal exceeds max(minBytes, ratio × a fresh snapshot's size). */
  autoCompact?: { minBytes: number; ratio: number } | false;
}

const DEFAULT_AUTO_COMPACT = { minBytes: 1024 * 1024, ratio: 2 };

export class Journal<T> {
  readonly snapshotFile: string;
  readonly journalFile: string;
  /** Bytes of torn or damaged journal tail cut off by open (0 after a clean shutdown). */
  readonly discardedBytes: number;
  #state: LoadedState<T>;
  #liveBytes = 0;
  #fh: FileHandle;
  #journalBytes: number;
  #queue: Promise<unknown> = Promise.resolve();
  #broken: Error | undefined;
  readonly #options: JournalOptions<T>;

  private constructor(base: string, state: LoadedState<T>, fh: FileHandle, journalBytes: number, discarded: number, options: JournalOptions<T>) {
    this.snapshotFile = `${base}.snapshot`;
    this.journalFile = `${base}.journal`;
    this.#state = state;
    for (const n of state.sizes.values()) this.#liveBytes += n;
    this.#fh = fh;
    this.#journalBytes = journalBytes;
    this.discardedBytes = discarded;
    this.#options = options;
  }

  /** Opens `<base>.snapshot` + `<base>.journal`, creating them when neither exists. */
  static async open<T>(base: string, options: JournalOptions<T>): Promise<Journal<T>> {
    const snapshotFile = `${base}.snapshot`;
    const journalFile = `${base}.journal`;
    const state = (await readSnapshot(snapshotFile, options.validate)) ?? { entries: new Map(), sizes: new Map(), gen: 0, seq: 0 };
    const buf = await readOptional(journalFile);
    let size: number;
    let discarded = 0;
    if (buf === undefined) {
      if (state.gen !== 0) throw badState(journalFile, 'journal is missing');
      size = await resetJournal(journalFile, state.gen);
    } else {
      const { gen, committedEnd } = replayJournal(buf, journalFile, options.validate, state);
      if (gen === undefined) throw badState(journalFile, 'bad journal header');
      if (gen > state.gen) throw badState(snapshotFile, `snapshot generation ${state.gen} is older than the journal's ${gen}`);
      if (gen < state.gen) {
        size = await resetJournal(journalFile, state.gen);
      } else {
        size = committedEnd;
        discarded = buf.length - committedEnd;
        if (discarded > 0) await truncate(journalFile, committedEnd);
      }
    }
    const fh = await open(journalFile, 'r+');
    if (discarded > 0) await onFile(journalFile, () => fh.sync());
    return new Journal(base, state, fh, size, discarded, options);
  }

  get(key: string): T | undefined {
    return this.#state.entries.get(key);
  }

  has(key: string): boolean {
    return this.#state.entries.has(key);
  }

  get size(): number {
    return this.#state.entries.size;
  }

  entries(): IterableIterator<[string, T]> {
    return this.#state.entries.entries();
  }

  /** Number of transactions committed since the journal was created (survives compaction). */
  get sequence(): number {
    return this.#state.seq;
  }

  get journalBytes(): number {
    return this.#journalBytes;
  }

  /** Size a snapshot of the current content would have, give or take its header. */
  get liveBytes(): number {
    return this.#liveBytes;
  }

  transaction(): Transaction<T> {
    return new Transaction(this.#options.validate, (ops) => this.#serialize(() => this.#commit(ops)));
  }

  /** Rewrites the snapshot from memory and starts an empty journal. */
  compact(): Promise<void> {
    return this.#serialize(() => this.#compact());
  }

  async close(): Promise<void> {
    await this.#serialize(async () => {
      this.#broken ??= new StrataError('E_STATE_CLOSED', 'index is closed', { path: this.journalFile });
      await this.#fh.close();
    });
  }

  #serialize<R>(fn: () => Promise<R>): Promise<R> {
    const run = (): Promise<R> => {
      if (this.#broken) throw this.#broken;
      return fn();
    };
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #commit(ops: Array<Op<T>>): Promise<void> {
    if (ops.length === 0) return;
    const lines = ops.map((op) => encodeRecord(op));
    lines.push(encodeRecord({ t: 'c', n: this.#state.seq + 1 }));
    const buf = Buffer.from(lines.join(''));
    try {
      await writeAll(this.#fh, buf, this.#journalBytes);
      await this.#fh.sync();
    } catch (err) {
      await this.#rollback(err);
      throw new StrataError('E_STATE_IO', `could not commit to the index: ${whatFailed(err)}`, { path: this.journalFile }, { cause: err });
    }
    this.#journalBytes += buf.length;
    const sized = ops.map((op, i) => ({ op, bytes: op.t === 's' ? Buffer.byteLength(lines[i] ?? '') : 0 }));
    for (const { op } of sized) this.#liveBytes -= this.#state.sizes.get(op.p) ?? 0;
    applyOps(this.#state, sized);
    for (const { op, bytes } of sized) if (op.t === 's') this.#liveBytes += bytes;
    this.#state.seq += 1;
    const auto = this.#options.autoCompact ?? DEFAULT_AUTO_COMPACT;
    if (auto && this.#journalBytes > Math.max(auto.minBytes, auto.ratio * this.#liveBytes)) {
      // The commit is already durable; a failed compaction is retried after the next commit, or,
      // if it left the files inconsistent, has marked the journal broken so the next call fails.
      await this.#compact().catch(() => undefined);
    }
  }

  /** A failed append may have left a partial transaction: cut it off, or refuse all further writes. */
  async #rollback(cause: unknown): Promise<void> {
    try {
      await this.#fh.truncate(this.#journalBytes);
      await this.#fh.sync();
    } catch (err) {
      const why = `a write failed (${whatFailed(cause)}) and cutting off what it left failed too (${whatFailed(err)})`;
      this.#broken = new StrataError('E_STATE_IO', `index is unusable: ${why}; reopen it`, { path: this.journalFile }, { cause: err });
    }
  }

  async #compact(): Promise<void> {
    const gen = this.#state.gen + 1;
    await writeFileAtomic(this.snapshotFile, encodeSnapshot(this.#state.entries, gen, this.#state.seq));
    // From here the snapshot alone is the truth: appends to the old journal would be dropped as
    // stale on open, so if the switch fails no further write may be accepted.
    let fh: FileHandle;
    let size: number;
    try {
      size = await resetJournal(this.journalFile, gen);
      fh = await open(this.journalFile, 'r+');
    } catch (err) {
      this.#broken = new StrataError('E_STATE_IO', `index is unusable: its compaction failed once its new snapshot was written (${whatFailed(err)}); reopen it`, { path: this.journalFile }, { cause: err });
      throw this.#broken;
    }
    await this.#fh.close();
    this.#fh = fh;
    this.#state.gen = gen;
    this.#journalBytes = size;
  }
}

/** Replaces the journal with an empty one of generation `gen`; returns its size. */
async function resetJournal(file: string, gen: number): Promise<number> {
  const header = encodeJournalHeader(gen);
  await writeFileAtomic(file, header);
  return Buffer.byteLength(header);
}

/** A batch of changes that becomes visible, and durable, all at once on `commit()`. */
export class Transaction<T> {
  #ops: Array<Op<T>> = [];
  #done = false;

  constructor(
    private readonly validate: Validate<T>,
    private readonly submit: (ops: Array<Op<T>>) => Promise<void>,
  ) {}

  set(key: string, value: T): this {
    this.#check(key);
    this.#ops.push({ t: 's', p: key, e: this.validate(value) });
    return this;
  }

  delete(key: string): this {
    this.#check(key);
    this.#ops.push({ t: 'd', p: key });
    return this;
  }

  get length(): number {
    return this.#ops.length;
  }

  commit(): Promise<void> {
    if (this.#done) return Promise.reject(new StrataError('E_STATE_TX', 'transaction already committed'));
    this.#done = true;
    return this.submit(this.#ops);
  }

  #check(key: string): void {
    if (this.#done) throw new StrataError('E_STATE_TX', 'transaction already committed');
    if (typeof key !== 'string' || key === '') throw new StrataError('E_STATE_TX', 'index keys must be non-empty strings');
  }
}
