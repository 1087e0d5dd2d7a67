/**
 * A folder's two-way sync on a memory store: the scenarios every store runs (scenarios.ts), then
 * a pass cut off or failing part-way, and the restart after it: what the pass applied, committed
 * or scanned before it stopped is neither lost nor taken for what it is not.
 * Beside it, by behaviour: folder-stat (edits the stat cache must see), folder-guard (mass
 * deletes), folder-unlisted (a folder that cannot be listed), folder-heads (other devices' heads),
 * folder-locked (files that cannot be replaced), folder-case (case-insensitive disks).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { test } from 'node:test';
import { StrataError } from '../errors.js';
import { ForwardingStore } from '../store/forwarding.js';
import type { ByteRange, ObjectStore } from '../store/index.js';
import { MemoryStore } from '../store/memory.js';
import { defineScenarios } from './scenarios.js';
import { assertSame, converge, Device, initStore, tempRoot, twoDevices } from './testkit.js';

defineScenarios('memory store', { makeStore: async () => ({ store: new MemoryStore() }) });

/** Fails the reads that `failing` picks while armed, as a connection reset does. */
class ReadsFail extends ForwardingStore {
  armed = false;
  constructor(
    inner: ObjectStore,
    private readonly failing: (key: string, range?: ByteRange) => boolean,
  ) {
    super(inner);
  }

  override get(key: string, range?: ByteRange): Promise<Uint8Array> {
    return this.fails(key, range) ?? super.get(key, range);
  }

  override getStream(key: string, range?: ByteRange): Promise<Readable> {
    return this.fails(key, range) ?? super.getStream(key, range);
  }

  private fails(key: string, range?: ByteRange): Promise<never> | undefined {
    if (this.armed && this.failing(key, range)) return Promise.reject(new StrataError('E_TRANSIENT', 'injected: connection reset', { key }));
    return undefined;
  }
}

test('a merge cut off halfway does not turn the versions it applied into conflicts later', async (t) => {
  // Large ranged reads of packs fail: b's pass stops after applying the small files of its plan.
  // (Snapshots and profiles are read with a range too, capped at their limit: those must go through.)
  const mem = new MemoryStore();
  const flaky = new ReadsFail(mem, (key, range) => key.startsWith('data/') && (range?.length ?? 0) >= 64 << 10);
  const { a, b } = await twoDevices(t, 'pending', { mem, b: flaky });
  await a.write('a.txt', 'v1');
  await a.write('b.bin', randomBytes(3 << 20).toString('base64'));
  await a.pass();
  flaky.armed = true;
  await assert.rejects(b.pass(), /injected/);
  assert.equal(await b.read('a.txt'), 'v1', 'the small file was applied before the big one failed');
  // B stops here (a crash, or just the error) and starts again; meanwhile A edits the file it already has.
  flaky.armed = false;
  await b.close();
  await b.open();
  await a.write('a.txt', 'v2');
  await a.pass();
  await converge([a, b]);
  const listing = await assertSame([a, b]);
  assert.deepEqual(Object.keys(listing).sort(), ['a.txt', 'b.bin']);
  assert.equal(listing['a.txt'], 'v2');
});

test('a restart trusts the last synced pass only while the stat cache is as that pass left it', async (t) => {
  const base = await tempRoot(t, 'settled');
  const mem = new MemoryStore();
  await initStore(mem);
  let onPhase: ((state: string) => void) | undefined;
  const a = await Device.create(base, 'deva', mem, { onPhase: (p) => onPhase?.(p.state) });
  const b = await Device.create(base, 'devb', mem);
  t.after(async () => {
    await a.close();
    await b.close();
  });
  await a.write('f', 'f1');
  await converge([a, b]);
  // A restart over the unchanged folder: settled at once, nothing written.
  await a.close();
  await a.open();
  const quiet = await a.pass();
  assert.equal(quiet.status === 'synced' && quiet.snapshot, undefined);
  // An edit the scan committed to the stat cache, then the pass stopped before its snapshot (a crash).
  await a.write('g', 'g1');
  const stop = new AbortController();
  onPhase = (state) => state === 'uploading' && stop.abort();
  await assert.rejects(a.folder.pass(stop.signal));
  onPhase = undefined;
  await a.close();
  await a.open();
  await converge([a, b]);
  assert.equal(await b.read('g'), 'g1', 'the committed edit is not taken for settled');
});

test('a pass that fails after its scan, before its flush, loses none of the chunks the scan found: the next pass uploads them', async (t) => {
  // Reads of packs fail: a's pass stops after its scan, when it reads another device's trees.
  const mem = new MemoryStore();
  const faulty = new ReadsFail(mem, (key) => key.startsWith('data/'));
  const { a, b } = await twoDevices(t, 'fail-after-scan', { mem, a: faulty });
  await converge([a, b]);
  await b.write('from-b.txt', 'b');
  await b.pass();
  // deva's scan reads and packs its edit (an hour old, so that the stat cache vouches for it
  // later); its merge of devb's head then fails to read devb's trees.
  await a.write('from-a.txt', 'a', new Date(Date.now() - 3_600_000));
  faulty.armed = true;
  await assert.rejects(a.pass(), /injected/);
  faulty.armed = false;
  assert.equal((await a.pass()).status, 'synced');
  await converge([a, b]);
  assert.deepEqual(await assertSame([a, b]), { 'from-a.txt': 'a', 'from-b.txt': 'b' });
});
