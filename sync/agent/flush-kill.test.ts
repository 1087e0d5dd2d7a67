/**
 * A process killed around a pass's one flush (folder.ts commitScan: the scan's chunks and the trees
 * under one index object, then the stat cache): before the index object, after it, and as the stat
 * cache is committed (kill-pass-child.ts runs the pass). After a restart no edit is lost, none
 * comes back as a conflict, and no stat cache entry names a chunk the bucket lacks.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { test, type TestContext } from 'node:test';
import { openRepository } from '../repo/index.js';
import { check } from '../repo/check.js';
import { assertSame, converge, killableDevices } from './testkit.js';

/**
 * deva edits x and adds a file of three packs while devb's edit of y and new z wait for it; deva's
 * pass is killed at `point`, and with `editAgain` the user edits x and w while it is down. After
 * a restart every edit is there on both devices, none as a conflict, and the bucket reads back whole.
 */
async function killedAround(t: TestContext, point: string, editAgain: boolean): Promise<void> {
  const { a, b, store, killedPass, reopen } = await killableDevices(t, `flush-kill-${point}`);
  for (const p of ['x.txt', 'y.txt', 'w.txt']) await a.write(p, `${p} v1`);
  await converge([a, b]);
  await b.write('y.txt', 'y from b');
  await b.write('z.txt', 'z from b');
  assert.equal((await b.pass()).status, 'synced');
  // An hour old, so that the stat cache vouches for them after the restart (no racy re-read).
  const hourAgo = new Date(Date.now() - 3_600_000);
  await a.write('x.txt', 'x v2', hourAgo);
  await a.write('big.bin', 'B'.repeat(3 << 20), hourAgo);
  await killedPass(point);
  if (editAgain) {
    await writeFile(a.path('x.txt'), 'x v3');
    await writeFile(a.path('w.txt'), 'w v2');
  }
  await reopen();
  assert.equal((await a.pass()).status, 'synced');
  await converge([a, b]);
  const both = await assertSame([a, b]);
  assert.deepEqual(
    { ...both, 'big.bin': both['big.bin']?.length },
    { 'big.bin': 3 << 20, 'w.txt': editAgain ? 'w v2' : 'w.txt v1', 'x.txt': editAgain ? 'x v3' : 'x v2', 'y.txt': 'y from b', 'z.txt': 'z from b' },
  );
  assert.deepEqual((await check(await openRepository(store), { readData: true })).problems, []);
}

test("a pass killed after its scan, before its flush wrote the index: the scan's edits sync after the restart", (t) => killedAround(t, 'index', false));

test('a pass killed once its flush wrote the index, before the stat cache was committed: the edits sync after the restart', (t) => killedAround(t, 'indexed', false));

test('a pass killed as it commits the stat cache after its flush: the edits sync after the restart', (t) => killedAround(t, 'commit', false));

test('a pass killed as it commits the stat cache, the files edited again while it is down: the later edits sync', (t) => killedAround(t, 'commit', true));
