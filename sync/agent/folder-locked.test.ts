/**
 * Files the executor cannot replace (an open Office document, an immutable flag: chattr +i, Linux
 * only): such a file, or a folder it cannot write to, holds up only itself, is never taken for
 * deleted, and takes the other device's version once released and tried again.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test, type TestContext } from 'node:test';
import { MemoryStore } from '../store/memory.js';
import { BLOCKED_MS } from './folder.js';
import { assertSame, converge, Device, initStore, tempRoot } from './testkit.js';

test('a file the executor cannot replace (locked, immutable) holds up only itself: the rest syncs both ways', { skip: process.platform !== 'linux' && 'uses chattr +i' }, async (t) => {
  const { a, b, clock } = await pairWithClockOnB(t, 'locked-target');
  await a.write('doc.txt', 'v1', new Date('2026-01-01T10:00:00Z'));
  await converge([a, b]);
  // The file is held on b the way an open Office document or an immutable flag holds it: it cannot be replaced.
  const lock = spawnSync('chattr', ['+i', b.path('doc.txt')]);
  if (lock.status !== 0) return t.skip('chattr +i is not supported here');
  t.after(() => spawnSync('chattr', ['-i', b.path('doc.txt')]));
  await a.write('doc.txt', 'v2 from a', new Date('2026-01-02T10:00:00Z'));
  await a.write('new-from-a.txt', 'a');
  await a.pass();
  await b.write('new-from-b.txt', 'b');
  for (let i = 0; i < 3; i++) await b.pass();
  await a.pass();
  assert.equal(await b.read('new-from-a.txt'), 'a', 'b got the rest of a\'s changes');
  assert.equal(await a.read('new-from-b.txt'), 'b', 'a got b\'s change');
  assert.equal(await b.read('doc.txt'), 'v1');
  // Released, the file takes a's version once b tries it again.
  spawnSync('chattr', ['-i', b.path('doc.txt')]);
  clock.later = BLOCKED_MS;
  await converge([a, b]);
  assert.equal((await assertSame([a, b]))['doc.txt'], 'v2 from a');
});

test('a file another device adds in a folder this one cannot write to (immutable) is never taken for deleted, however often it is tried again', { skip: process.platform !== 'linux' && 'uses chattr +i' }, async (t) => {
  const { a, b, clock } = await pairWithClockOnB(t, 'locked-dir');
  await a.write('ro/one.txt', 'one');
  await a.write('other.txt', 'other');
  await converge([a, b]);
  const lock = spawnSync('chattr', ['+i', b.path('ro')]);
  if (lock.status !== 0) return t.skip('chattr +i is not supported here');
  t.after(() => spawnSync('chattr', ['-i', b.path('ro')]));
  await a.write('ro/two.txt', 'two');
  await a.pass();
  for (let i = 0; i < 3; i++) await b.pass();
  // Tried again (and refused again) after the wait, with a change of b's to send.
  clock.later = BLOCKED_MS;
  await b.write('from-b.txt', 'b');
  for (let i = 0; i < 3; i++) await b.pass();
  await a.pass();
  assert.equal(await a.read('from-b.txt'), 'b');
  assert.equal(await a.read('ro/two.txt'), 'two', 'a keeps the file b could not lay');
  // Released, b lays it.
  spawnSync('chattr', ['-i', b.path('ro')]);
  clock.later = 2 * BLOCKED_MS;
  await converge([a, b]);
  assert.equal((await assertSame([a, b]))['ro/two.txt'], 'two');
});

/** Two devices on one memory store; b's clock runs `clock.later` ms ahead of the real one. */
async function pairWithClockOnB(t: TestContext, name: string): Promise<{ a: Device; b: Device; clock: { later: number } }> {
  const base = await tempRoot(t, name);
  const mem = new MemoryStore();
  await initStore(mem);
  const clock = { later: 0 };
  const a = await Device.create(base, 'deva', mem);
  const b = await Device.create(base, 'devb', mem, { now: () => new Date(Date.now() + clock.later) });
  t.after(async () => {
    await a.close();
    await b.close();
  });
  return { a, b, clock };
}
