/**
 * RetryingStore: retries E_TRANSIENT failures of another store, with exponential backoff and
 * full jitter (delay = random · min(max, base · 2^attempt)), so many clients that failed together
 * do not retry together.
 *
 * What must hold:
 * - Only E_TRANSIENT is retried. E_NOT_FOUND, E_AUTH, E_PERMANENT, any other code, and anything
 *   that is not a StrataError (a programming error) fail on the first attempt.
 * - Retrying a put is safe because the contract makes puts idempotent; a stream body is reopened.
 * - list never yields a key twice and never skips one: after a failure it lists again from just
 *   after the last key it yielded (keys come in lexicographic order). It asks the inner store to
 *   start there (`ListOptions.startAfter`, which S3 supports natively) and also skips those keys
 *   itself, so a store that ignores the option is still listed correctly, only less cheaply.
 *   Without a cheap restart a long listing could never get past a late page at a high fault rate.
 * - listUploads, short and used by gc alone, is listed whole before it yields, and a failure lists
 *   it again from the start.
 * - getStream retries opening the stream only; a failure half-way through reading reaches the
 *   caller, who knows how much it has consumed.
 * - Under an aborted withSignal (abort.ts) nothing is retried and no wait runs on: the failure is
 *   the signal's reason, and the wait's timer is cleared (a timer left running would keep a CLI
 *   that is otherwise done from exiting for up to maxDelayMs).
 * - Time and randomness are injected, so tests run instantly and deterministically.
 */
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { requestSignal } from './abort.js';
import { isTransient, type ByteRange, type ListOptions, type ObjectInfo, type ObjectStore, type PartialUpload, type PutBody } from './index.js';

export interface RetryOptions {
  /** Retries after the first attempt; 0 disables retrying. Default 6. */
  retries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** A wait of `ms`, which should end early (resolving or failing) when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** A float in [0, 1); scales each delay (full jitter). */
  random?: () => number;
  /** Called before each wait; `attempt` is 1 for the first retry. */
  onRetry?: (err: unknown, attempt: number) => void;
}

/** A timer cleared by an abort of `signal` (the wait's failure then comes from `abortable`). */
const realSleep = (ms: number, signal?: AbortSignal): Promise<void> => delay(ms, undefined, { signal }).catch(() => {});

/** A wait, ended early by an abort of `signal` (failing with its reason). */
function abortable(sleep: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return sleep;
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    void sleep.finally(() => signal.removeEventListener('abort', onAbort)).then(resolve, reject);
  });
}

export class RetryingStore implements ObjectStore {
  readonly location: string;
  private readonly retries: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;
  private readonly onRetry: ((err: unknown, attempt: number) => void) | undefined;

  constructor(
    readonly inner: ObjectStore,
    opts: RetryOptions = {},
  ) {
    this.location = inner.location;
    this.retries = opts.retries ?? 6;
    this.baseDelayMs = opts.baseDelayMs ?? 100;
    this.maxDelayMs = opts.maxDelayMs ?? 10_000;
    this.sleep = opts.sleep ?? realSleep;
    this.random = opts.random ?? Math.random;
    this.onRetry = opts.onRetry;
    if (!Number.isSafeInteger(this.retries) || this.retries < 0) throw new RangeError(`retries must be a non-negative integer, got ${this.retries}`);
  }

  put(key: string, body: PutBody): Promise<void> {
    return this.attempt(() => this.inner.put(key, body));
  }

  get(key: string, range?: ByteRange): Promise<Uint8Array> {
    return this.attempt(() => this.inner.get(key, range));
  }

  getStream(key: string, range?: ByteRange): Promise<Readable> {
    return this.attempt(() => this.inner.getStream(key, range));
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    return this.attempt(() => this.inner.head(key));
  }

  delete(key: string): Promise<void> {
    return this.attempt(() => this.inner.delete(key));
  }

  abortUpload(upload: PartialUpload): Promise<void> {
    return this.attempt(() => this.inner.abortUpload(upload));
  }

  /** A failed listing of uploads starts over: it is short and rare (gc), and yields what it listed again. */
  async *listUploads(prefix: string): AsyncIterable<PartialUpload> {
    const uploads = await this.attempt(async () => {
      const all: PartialUpload[] = [];
      for await (const upload of this.inner.listUploads(prefix)) all.push(upload);
      return all;
    });
    yield* uploads;
  }

  async *list(prefix: string, opts: ListOptions = {}): AsyncIterable<ObjectInfo> {
    let last = opts.startAfter;
    // Failures in a row: a long listing that keeps making progress must not run out of retries.
    let failures = 0;
    for (;;) {
      const it = this.inner.list(prefix, last === undefined ? undefined : { startAfter: last })[Symbol.asyncIterator]();
      let finished = false;
      try {
        for (;;) {
          let step: IteratorResult<ObjectInfo>;
          try {
            step = await it.next();
          } catch (err) {
            finished = true; // a failed iterator is done; nothing to close
            await this.backoff(err, ++failures);
            break;
          }
          if (step.done) {
            finished = true;
            return;
          }
          if (last !== undefined && step.value.key <= last) continue;
          last = step.value.key;
          failures = 0;
          yield step.value;
        }
      } finally {
        // The caller stopped early: close the inner listing so it can release its resources.
        if (!finished) await it.return?.();
      }
    }
  }

  private async attempt<T>(op: () => Promise<T>): Promise<T> {
    for (let failures = 1; ; failures++) {
      try {
        return await op();
      } catch (err) {
        await this.backoff(err, failures);
      }
    }
  }

  /** Wait before retry number `failures`, or rethrow when the error is final. */
  private async backoff(err: unknown, failures: number): Promise<void> {
    const signal = requestSignal();
    if (signal?.aborted) throw signal.reason;
    if (!isTransient(err) || failures > this.retries) throw err;
    this.onRetry?.(err, failures);
    await abortable(this.sleep(this.delayMs(failures - 1), signal), signal);
  }

  /** The wait before retry `n + 1`: full jitter over an exponentially growing, capped window. */
  private delayMs(n: number): number {
    const window = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(n, 52));
    return Math.floor(this.random() * window);
  }
}
