// Two devices whose passes crossed (each merged the other's earlier snapshot): their heads have two
// best common ancestors, and a delete made after must not come back from the one that lacks the file.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ForwardingStore } from '../store/forwarding.js';
import type { PutBody } from '../store/index.js';
import { MemoryStore } from '../store/memory.js';
import { keys } from '../repo/types.js';
import { LAYER, twoDevices } from './testkit.js';

/** Holds the puts of snapshots after hold() until release(); hold() resolves once one waits (its time is taken then). */
class HeldPuts extends ForwardingStore {
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;
  private arrived: (() => void) | undefined;

  hold(): Promise<void> {
    this.gate = new Promise((r) => (this.open = r));
    return new Promise((r) => (this.arrived = r));
  }

  release(): void {
    this.gate = undefined;
    this.open?.();
  }

  override async put(key: string, body: PutBody): Promise<void> {
    if (key.startsWith(keys.snapshots(LAYER))) {
      this.arrived?.();
      await this.gate;
    }
    return this.inner.put(key, body);
  }
}

test('a file deleted after two passes crossed stays deleted: the merge is against both common ancestors, not the one without the file', async (t) => {
  const mem = new MemoryStore();
  const toA = new HeldPuts(mem);
  const { a, b } = await twoDevices(t, 'criss-cross', { mem, a: toA });
  await a.pass(); // a's first snapshot, empty: the root of both histories
  // a's snapshot with f0 is made, then b's empty one (newer), which lands first: neither saw the other.
  await a.write('f0.txt', 'zero');
  let reached = toA.hold();
  const aFirst = a.pass();
  await reached;
  await b.pass();
  toA.release();
  await aFirst;
  // Crossed: b merges a's snapshot with f0 while a merges b's empty one (with f1 new, so it writes one).
  await a.write('f1.txt', 'one');
  reached = toA.hold();
  const aSecond = a.pass();
  await reached;
  await b.pass();
  toA.release();
  await aSecond;
  assert.equal(await b.read('f0.txt'), 'zero');
  await a.remove('f0.txt');
  await a.pass();
  assert.deepEqual(await a.listing(), { 'f1.txt': 'one' }, 'f0 stays deleted on a');
  await b.pass();
  assert.deepEqual(await b.listing(), { 'f1.txt': 'one' }, 'and goes on b');
});
