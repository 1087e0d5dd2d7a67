import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { StrataError, isStrataError, type ErrorCode } from '../errors.js';
import { readAll, type ObjectInfo } from './index.js';
import { MemoryStore } from './memory.js';
import { RetryingStore, type RetryOptions } from './retrying.js';
import { withSignal } from './abort.js';

const fail = (code: ErrorCode): StrataError => new StrataError(code, `scripted ${code}`, { key: 'k' });

/** A MemoryStore whose next calls fail with scripted errors, counting every call. */
class ScriptedStore extends MemoryStore {
  calls = 0;
  readonly failures: unknown[] = [];

  private async step(): Promise<void> {
    this.calls++;
    const err = this.failures.shift();
    if (err !== undefined) throw err;
  }

  override async put(key: string, body: Uint8Array | { size: number; open(): Readable }): Promise<void> {
    await this.step();
    return super.put(key, body);
  }
  override async get(key: string, range?: { offset: number; length: number }): Promise<Uint8Array> {
    await this.step();
    return super.get(key, range);
  }
  override async head(key: string): Promise<ObjectInfo | undefined> {
    await this.step();
    return super.head(key);
  }
}

function retrying(inner: MemoryStore, opts: RetryOptions = {}): { store: RetryingStore; delays: number[]; retries: number[] } {
  const delays: number[] = [];
  const retries: number[] = [];
  const store = new RetryingStore(inner, {
    sleep: async (ms) => void delays.push(ms),
    random: () => 0.5,
    onRetry: (_err, attempt) => retries.push(attempt),
    ...opts,
  });
  return { store, delays, retries };
}

describe('RetryingStore', () => {
  it('retries transient failures until the operation succeeds', async () => {
    const inner = new ScriptedStore();
    const { store, retries } = retrying(inner);
    inner.failures.push(fail('E_TRANSIENT'), fail('E_TRANSIENT'));
    await store.put('a', Buffer.from('bytes'));
    assert.equal(inner.calls, 3);
    assert.deepEqual(retries, [1, 2]);
    inner.failures.push(fail('E_TRANSIENT'));
    assert.deepEqual(Buffer.from(await store.get('a')), Buffer.from('bytes'));
    assert.equal(inner.calls, 5);
  });

  it('reopens a stream body on each attempt', async () => {
    const inner = new MemoryStore();
    let puts = 0;
    // The first attempt consumes the stream and then fails, as a connection reset would.
    inner.put = async function (key, body) {
      if (puts++ === 0 && !(body instanceof Uint8Array)) {
        await readAll(body.open());
        throw fail('E_TRANSIENT');
      }
      return MemoryStore.prototype.put.call(this, key, body);
    };
    const { store } = retrying(inner);
    let opened = 0;
    await store.put('s', { size: 3, open: () => (opened++, Readable.from([Buffer.from('abc')])) });
    assert.equal(opened, 2);
    assert.deepEqual(Buffer.from(await store.get('s')), Buffer.from('abc'));
  });

  it('gives up after the configured retries with the last error', async () => {
    const inner = new ScriptedStore();
    const { store, delays } = retrying(inner, { retries: 3 });
    const errors = [1, 2, 3, 4, 5].map(() => fail('E_TRANSIENT'));
    inner.failures.push(...errors);
    await assert.rejects(store.head('a'), (err) => err === errors[3]);
    assert.equal(inner.calls, 4);
    assert.equal(delays.length, 3);
  });

  for (const code of ['E_NOT_FOUND', 'E_AUTH', 'E_PERMANENT', 'E_BAD_RANGE'] as const) {
    it(`fails on the first attempt with ${code}`, async () => {
      const inner = new ScriptedStore();
      const { store, delays } = retrying(inner);
      inner.failures.push(fail(code));
      await assert.rejects(store.get('a'), (err) => isStrataError(err, code));
      assert.equal(inner.calls, 1);
      assert.deepEqual(delays, []);
    });
  }

  it('never retries an error that is not a StrataError', async () => {
    const inner = new ScriptedStore();
    const { store } = retrying(inner);
    const bug = new TypeError('a programming error');
    inner.failures.push(bug);
    await assert.rejects(store.head('a'), (err) => err === bug);
    assert.equal(inner.calls, 1);
  });

  it('passes E_NOT_FOUND from the real store through without retrying', async () => {
    const inner = new ScriptedStore();
    const { store } = retrying(inner);
    await assert.rejects(store.get('missing'), (err) => isStrataError(err, 'E_NOT_FOUND'));
    assert.equal(inner.calls, 1);
  });

  it('grows its backoff window exponentially up to the maximum, with jitter', async () => {
    const inner = new ScriptedStore();
    const { store, delays } = retrying(inner, { retries: 8, baseDelayMs: 100, maxDelayMs: 3000, random: () => 0.999 });
    inner.failures.push(...Array.from({ length: 8 }, () => fail('E_TRANSIENT')));
    await store.put('a', Buffer.from('x'));
    assert.deepEqual(delays, [99, 199, 399, 799, 1598, 2997, 2997, 2997]);

    const half = retrying(new ScriptedStore(), { baseDelayMs: 100, random: () => 0.5 });
    (half.store.inner as ScriptedStore).failures.push(fail('E_TRANSIENT'), fail('E_TRANSIENT'));
    await half.store.head('a');
    assert.deepEqual(half.delays, [50, 100]);
  });

  it('retries opening a stream', async () => {
    const inner = new ScriptedStore();
    await inner.put('big', Buffer.from('0123456789'));
    inner.calls = 0;
    const opens: number[] = [];
    inner.getStream = async (key, range) => {
      opens.push(opens.length);
      if (opens.length === 1) throw fail('E_TRANSIENT');
      return MemoryStore.prototype.getStream.call(inner, key, range);
    };
    const { store } = retrying(inner);
    assert.deepEqual(Buffer.from(await readAll(await store.getStream('big', { offset: 2, length: 3 }))), Buffer.from('234'));
    assert.equal(opens.length, 2);
  });
});

describe('RetryingStore.list', () => {
  /** An inner store whose listing fails after yielding `failAfter[i]` keys on attempt i. */
  function flakyLister(keys: string[], failAfter: number[], code: ErrorCode = 'E_TRANSIENT'): { inner: MemoryStore; attempts: () => number } {
    const inner = new MemoryStore();
    let attempts = 0;
    inner.list = async function* () {
      const limit = failAfter[attempts++];
      let n = 0;
      for (const key of keys) {
        if (limit !== undefined && n++ === limit) throw fail(code);
        yield { key, size: 1 };
      }
    };
    return { inner, attempts: () => attempts };
  }

  async function collect(store: RetryingStore): Promise<string[]> {
    const out: string[] = [];
    for await (const info of store.list('')) out.push(info.key);
    return out;
  }

  const keys = Array.from({ length: 50 }, (_, i) => `k/${String(i).padStart(3, '0')}`);

  it('resumes after a mid-listing failure without duplicates or gaps', async () => {
    const { inner, attempts } = flakyLister(keys, [10, 0, 25, 40]);
    const { store } = retrying(inner);
    assert.deepEqual(await collect(store), keys);
    assert.equal(attempts(), 5);
  });

  it('asks the inner store to resume after the last key it yielded', async () => {
    const inner = new MemoryStore();
    const asked: Array<string | undefined> = [];
    let attempts = 0;
    const list = async function* (_prefix: string, opts?: { startAfter?: string }) {
      asked.push(opts?.startAfter);
      const failAt = attempts++ === 0 ? 7 : -1;
      let n = 0;
      for (const key of keys) {
        if (opts?.startAfter !== undefined && key <= opts.startAfter) continue;
        if (n++ === failAt) throw fail('E_TRANSIENT');
        yield { key, size: 1 };
      }
    };
    inner.list = list;
    assert.deepEqual(await collect(retrying(inner).store), keys);
    assert.deepEqual(asked, [undefined, keys[6]]);
  });

  it('keeps going while it makes progress, but gives up on failures in a row', async () => {
    const progressing = flakyLister(keys, [5, 10, 15, 20, 25, 30, 35, 40, 45]);
    assert.deepEqual(await collect(retrying(progressing.inner, { retries: 2 }).store), keys);

    const stuck = flakyLister(keys, [5, 0, 0, 0]);
    await assert.rejects(collect(retrying(stuck.inner, { retries: 2 }).store), (err) => isStrataError(err, 'E_TRANSIENT'));
    assert.equal(stuck.attempts(), 3);
  });

  it('does not retry a listing that fails permanently', async () => {
    const { inner, attempts } = flakyLister(keys, [5], 'E_AUTH');
    await assert.rejects(collect(retrying(inner).store), (err) => isStrataError(err, 'E_AUTH'));
    assert.equal(attempts(), 1);
  });

  it('closes the inner listing when the caller stops early', async () => {
    const inner = new MemoryStore();
    let closed = false;
    inner.list = async function* () {
      try {
        for (const key of keys) yield { key, size: 1 };
      } finally {
        closed = true;
      }
    };
    for await (const info of retrying(inner).store.list('')) if (info.key === keys[3]) break;
    assert.equal(closed, true);
  });
});

describe('RetryingStore under an aborted withSignal', () => {
  it('neither retries nor waits once the signal is aborted: the failure is its reason', async () => {
    const inner = new ScriptedStore();
    const abort = new AbortController();
    const reason = new StrataError('E_PAUSED', 'sync was paused');
    inner.failures.push(fail('E_TRANSIENT'), fail('E_TRANSIENT'));
    // The first failure comes as the pause does.
    const sleeps: number[] = [];
    const store = new RetryingStore(inner, { sleep: () => new Promise<void>((r) => (sleeps.push(1), abort.abort(reason), setTimeout(r, 10_000).unref())) });
    const err = await withSignal(abort.signal, () => store.get('k')).catch((e: unknown) => e);
    assert.equal(err, reason, 'the wait ended at the abort');
    assert.deepEqual({ calls: inner.calls, sleeps: sleeps.length }, { calls: 1, sleeps: 1 });
    inner.failures.push(fail('E_TRANSIENT'));
    assert.equal(await withSignal(abort.signal, () => store.get('k')).catch((e: unknown) => e), reason, 'no retry of a failure under an aborted signal');
    assert.deepEqual({ calls: inner.calls, sleeps: sleeps.length }, { calls: 2, sleeps: 1 });
  });

  it('an abort during the wait ends its timer too, so nothing is left to keep the process alive', async () => {
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const inner = new ScriptedStore();
    const abort = new AbortController();
    const reason = new StrataError('E_PAUSED', 'sync was paused');
    inner.failures.push(fail('E_TRANSIENT'));
    // The real sleep, a 10 s wait; the pause comes once it has begun.
    const store = new RetryingStore(inner, { baseDelayMs: 10_000, random: () => 0.999999, onRetry: () => setImmediate(() => abort.abort(reason)) });
    assert.equal(await withSignal(abort.signal, () => store.get('k')).catch((e: unknown) => e), reason);
    assert.equal(timers(), before, 'no timer of the wait is left');
  });
});
