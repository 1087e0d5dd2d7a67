// Devices whose passes crossed (each merged the other's earlier snapshot): their heads have two
// best common ancestors. A delete made after must not come back from the one that lacks the file,
// and every device must build the same merge of those ancestors, or versions are lost.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ForwardingStore } from '../store/forwarding.js';
import type { PutBody } from '../store/index.js';
import { MemoryStore } from '../store/memory.js';
import { keys } from '../repo/types.js';
import { assertSame, converge, Device, initStore, LAYER, listDir, tempRoot, twoDevices } from './testkit.js';

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

/**
 * `outer`'s pass, held at its snapshot's put (through `held`) while `inner` passes whole: neither
 * sees the other's snapshot (unless `outer` has none to write).
 */
async function crossed(outer: Device, held: HeldPuts, inner: Device): Promise<void> {
  const reached = held.hold();
  const first = outer.pass();
  await Promise.race([reached, first]);
  await inner.pass();
  held.release();
  await first;
}

test('a file deleted after two passes crossed stays deleted: the merge is against both common ancestors, not the one without the file', async (t) => {
  const mem = new MemoryStore();
  const toA = new HeldPuts(mem);
  const { a, b } = await twoDevices(t, 'criss-cross', { mem, a: toA });
  await a.pass(); // a's first snapshot, empty: the root of both histories
  // a's snapshot with f0 is made, then b's empty one (newer), which lands first: neither saw the other.
  await a.write('f0.txt', 'zero');
  await crossed(a, toA, b);
  // Crossed: b merges a's snapshot with f0 while a merges b's empty one (with f1 new, so it writes one).
  await a.write('f1.txt', 'one');
  await crossed(a, toA, b);
  assert.equal(await b.read('f0.txt'), 'zero');
  await a.remove('f0.txt');
  await a.pass();
  assert.deepEqual(await a.listing(), { 'f1.txt': 'one' }, 'f0 stays deleted on a');
  await b.pass();
  assert.deepEqual(await b.listing(), { 'f1.txt': 'one' }, 'and goes on b');
});

test('a version both sides of a crossed merge hold under other conflict names survives: each device merges the common ancestors alike', async (t) => {
  const base = await tempRoot(t, 'criss-cross-names');
  const mem = new MemoryStore();
  await initStore(mem);
  const held = { deva: new HeldPuts(mem), devb: new HeldPuts(mem), devc: new HeldPuts(mem) };
  const a = await Device.create(base, 'deva', held.deva);
  const b = await Device.create(base, 'devb', held.devb);
  const c = await Device.create(base, 'devc', held.devc);
  t.after(async () => {
    for (const d of [a, b, c]) await d.close();
  });
  // Two roots of history that neither saw: f a file on devb, a folder on devc (devc's the older).
  await b.write('f', 'devb wrote f');
  await c.write('f/g', 'devc wrote f/g');
  await crossed(c, held.devc, b);
  // deva merges both (devb's newer first): the file it then holds loses to the folder as f.sync-conflict-…-deva;
  // devb, crossing it, merges devc's folder over its own file: f.sync-conflict-…-devb. One version, two names.
  await crossed(a, held.deva, b);
  // Crossed again: each merges the other's snapshot against the merge of those two roots, then
  // devc merges both of theirs (with a change of its own, so it writes a snapshot).
  await a.write('a3', 'deva wrote a3');
  await b.write('b3', 'devb wrote b3');
  await crossed(a, held.deva, b);
  await c.write('h', 'devc wrote h');
  await c.pass();
  await converge([a, b, c]);
  const texts = Object.values(await assertSame([a, b, c]));
  assert.ok(texts.includes('devb wrote f'), `devb's f is kept: ${JSON.stringify(await listDir(a.root))}`);
});
