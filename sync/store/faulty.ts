/**
 * FaultyStore: wraps a store and injects seeded E_TRANSIENT failures and latency, for tests of
 * everything that must survive an unreliable network (Kopia's FaultyStorage idea).
 *
 * Fault modes:
 * - `before`: the request fails before it reaches the inner store (nothing happened).
 * - `afterPut`: a put is applied and then reported as failed ("the reply was lost"). Callers must
 *   never assume that a failed put left nothing behind.
 *
 * A listing is a series of page requests (`listPageSize` keys each, like S3's 1000); each page
 * may fail, so a listing can break half-way.
 *
 * What must hold: for one seed and one sequence of calls the same faults happen, so a failing
 * randomized test replays exactly. Every draw happens synchronously when a request starts.
 * `counts` records every request made through this store, failed or not: tests use it to prove
 * that no request was made at all (e.g. while sync is paused).
 */
import type { Readable } from 'node:stream';
import { StrataError } from '../errors.js';
import { makeRng, type Rng } from '../testing/random.js';
import type { ByteRange, ListOptions, ObjectInfo, ObjectStore, PartialUpload, PutBody } from './index.js';

export type FailMode = 'before' | 'afterPut';

export interface FaultyOptions {
  seed: number;
  /** Probability in [0, 1] that a request fails. */
  failRate: number;
  /** Latency added to every request, drawn uniformly from [min, max] ms. */
  latencyMs?: [number, number];
  sleep?: (ms: number) => Promise<void>;
  /** Which faults may be injected; default `['before']`. */
  failModes?: FailMode[];
  /** Keys per list page; default 1000. */
  listPageSize?: number;
}

export interface OpCounts {
  gets: number;
  puts: number;
  lists: number;
  heads: number;
  deletes: number;
  total: number;
}

export interface FaultCounts {
  before: number;
  afterPut: number;
  total: number;
}

type Kind = Exclude<keyof OpCounts, 'total'>;
type Fate = 'ok' | FailMode;

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class FaultyStore implements ObjectStore {
  readonly location: string;
  /** May be changed at any time, e.g. to 1 to simulate an outage. */
  failRate: number;
  /** Requests made through this store (getStream counts as a get, each list page as a list). */
  readonly counts: OpCounts = { gets: 0, puts: 0, lists: 0, heads: 0, deletes: 0, total: 0 };
  /** Faults injected so far. */
  readonly injected: FaultCounts = { before: 0, afterPut: 0, total: 0 };
  private readonly rng: Rng;
  private readonly modes: FailMode[];
  private readonly latency: [number, number] | undefined;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly pageSize: number;
  private forced: FailMode[] = [];

  constructor(
    readonly inner: ObjectStore,
    opts: FaultyOptions,
  ) {
    if (!(opts.failRate >= 0 && opts.failRate <= 1)) throw new RangeError(`failRate must be in [0, 1], got ${opts.failRate}`);
    this.location = inner.location;
    this.failRate = opts.failRate;
    this.rng = makeRng(opts.seed);
    this.modes = opts.failModes ?? ['before'];
    if (this.modes.length === 0) throw new RangeError('failModes must not be empty');
    this.latency = opts.latencyMs;
    this.sleep = opts.sleep ?? realSleep;
    this.pageSize = opts.listPageSize ?? 1000;
  }

  /** Make the next `n` requests fail with `mode` (default `before`), whatever the fail rate. */
  failNext(n: number, mode: FailMode = 'before'): void {
    for (let i = 0; i < n; i++) this.forced.push(mode);
  }

  resetCounts(): void {
    for (const k of Object.keys(this.counts) as Array<keyof OpCounts>) this.counts[k] = 0;
    for (const k of Object.keys(this.injected) as Array<keyof FaultCounts>) this.injected[k] = 0;
  }

  async put(key: string, body: PutBody): Promise<void> {
    const fate = await this.request('puts', key, true);
    await this.inner.put(key, body);
    if (fate === 'afterPut') throw this.fault('afterPut', 'put was applied but its reply was lost', key);
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    await this.request('gets', key);
    return this.inner.get(key, range);
  }

  async getStream(key: string, range?: ByteRange): Promise<Readable> {
    await this.request('gets', key);
    return this.inner.getStream(key, range);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    await this.request('heads', key);
    return this.inner.head(key);
  }

  async delete(key: string): Promise<void> {
    await this.request('deletes', key);
    return this.inner.delete(key);
  }

  async *listUploads(prefix: string): AsyncIterable<PartialUpload> {
    await this.request('lists', prefix);
    yield* this.inner.listUploads(prefix);
  }

  async abortUpload(upload: PartialUpload): Promise<void> {
    await this.request('deletes', upload.key);
    return this.inner.abortUpload(upload);
  }

  /** Honours `startAfter` like S3 does: pages count only the keys after it. */
  async *list(prefix: string, opts: ListOptions = {}): AsyncIterable<ObjectInfo> {
    const { startAfter } = opts;
    await this.request('lists', prefix);
    let n = 0;
    for await (const info of this.inner.list(prefix, opts)) {
      if (startAfter !== undefined && info.key <= startAfter) continue;
      if (n > 0 && n % this.pageSize === 0) await this.request('lists', prefix);
      n++;
      yield info;
    }
  }

  /**
   * Count a request, draw its fate and latency, wait, and throw if it fails before reaching the
   * inner store. Returns `afterPut` when the caller must fail after applying a put.
   */
  private async request(kind: Kind, key: string, isPut = false): Promise<Fate> {
    this.counts[kind]++;
    this.counts.total++;
    const fate = this.drawFate(isPut);
    const delay = this.latency ? this.latency[0] + this.rng.next() * (this.latency[1] - this.latency[0]) : 0;
    if (this.latency) await this.sleep(delay);
    if (fate === 'before') throw this.fault('before', `request failed before ${kind.slice(0, -1)}`, key);
    return fate;
  }

  private drawFate(isPut: boolean): Fate {
    // Always the same number of draws per request, so forced faults do not shift later ones.
    const fails = this.rng.next() < this.failRate;
    const mode = this.modes[this.rng.int(this.modes.length)] ?? 'before';
    const forced = this.forced.shift();
    const fate: Fate = forced ?? (fails ? mode : 'ok');
    // A lost reply only makes sense for a put; elsewhere the fault happens before the request.
    return fate === 'afterPut' && !isPut ? 'before' : fate;
  }

  private fault(mode: FailMode, what: string, key: string): StrataError {
    this.injected[mode]++;
    this.injected.total++;
    return new StrataError('E_TRANSIENT', `injected fault: ${what} (${this.location})`, { key });
  }
}
