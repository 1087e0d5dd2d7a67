/**
 * The mass-delete guard's hour (guard.ts) over a process killed in the middle of a pass: the
 * deletes the pass made count once, whatever point it died at (kill-pass-child.ts runs the pass).
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { PassResult } from './folder.js';
import { killableDevices, type Device } from './testkit.js';

const range = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `f${from + i}.txt`);
const heldAs = (r: PassResult): unknown => (r.status === 'held' ? [r.held.direction, r.held.files, r.held.of] : r.status);

/** b's 40 files synced to a; b deletes 15 of them (not a mass delete), and a's pass taking them is killed at `point`. */
async function remoteDeletesKilled(t: TestContext, name: string, point: string): Promise<{ a: Device; b: Device }> {
  const { a, b, killedPass, reopen } = await killableDevices(t, name);
  for (const p of range(0, 40)) await b.write(p, p);
  assert.equal((await b.pass()).status, 'synced');
  assert.equal((await a.pass()).status, 'synced');
  for (const p of range(0, 15)) await b.remove(p);
  assert.equal((await b.pass()).status, 'synced', '15 of 40 go through');
  await killedPass(point);
  await reopen();
  assert.equal((await a.pass()).status, 'synced');
  assert.deepEqual(Object.keys(await a.listing()).sort(), range(15, 40).sort());
  // b deletes 10 more, held there and confirmed: with the 15 of the hour, a holds 25 of 40.
  for (const p of range(15, 25)) await b.remove(p);
  const onB = await b.pass();
  await b.folder.approve(onB.status === 'held' ? onB.held : assert.fail('not held on b'));
  assert.equal((await b.pass()).status, 'synced');
  return { a, b };
}

test("another device's deletes applied by a pass killed mid-apply count towards the next hold", async (t) => {
  // Killed once 12 of the 15 deletes were made, the last of them before its done line.
  const { a } = await remoteDeletesKilled(t, 'kill-mid-apply', 'op:12');
  assert.deepEqual(heldAs(await a.pass()), ['remote', 25, 40]);
});

test("another device's deletes applied by a pass killed before it recorded them count towards the next hold", async (t) => {
  const { a } = await remoteDeletesKilled(t, 'kill-before-record', 'save');
  assert.deepEqual(heldAs(await a.pass()), ['remote', 25, 40]);
});

test("another device's deletes recorded by a pass killed right after count once", async (t) => {
  const { a } = await remoteDeletesKilled(t, 'kill-after-record', 'saved');
  assert.deepEqual(heldAs(await a.pass()), ['remote', 25, 40]);
});

/** a with `n` files synced; the user deletes `deleted` of them, and a's pass is killed at `point`. */
async function localDeletesKilled(t: TestContext, name: string, n: number, deleted: number, point: string): Promise<Device> {
  const { a, killedPass, reopen } = await killableDevices(t, name);
  for (const p of range(0, n)) await a.write(p, p);
  assert.equal((await a.pass()).status, 'synced');
  for (const p of range(0, deleted)) await a.remove(p);
  await killedPass(point);
  await reopen();
  assert.equal((await a.pass()).status, 'synced');
  return a;
}

test('deletes made on this disk by a pass killed after its head was written count towards the next hold', async (t) => {
  const a = await localDeletesKilled(t, 'kill-local-head', 20, 8, 'head');
  for (const p of range(8, 11)) await a.remove(p);
  assert.deepEqual(heldAs(await a.pass()), ['local', 11, 20]);
});

test('deletes made on this disk by a pass killed before its head was written count once', async (t) => {
  const a = await localDeletesKilled(t, 'kill-local-snapshot', 20, 8, 'snapshot');
  for (const p of range(8, 11)) await a.remove(p);
  assert.deepEqual(heldAs(await a.pass()), ['local', 11, 20]);
});

test('a confirmed mass delete whose pass was killed after its head was written settles the deletes of the hour', async (t) => {
  const { a, killedPass, reopen } = await killableDevices(t, 'kill-local-confirmed');
  for (const p of range(0, 40)) await a.write(p, p);
  assert.equal((await a.pass()).status, 'synced');
  for (const p of range(0, 15)) await a.remove(p);
  assert.equal((await a.pass()).status, 'synced', '15 of 40 go through');
  for (const p of range(15, 25)) await a.remove(p);
  const held = await a.pass();
  assert.deepEqual(heldAs(held), ['local', 25, 40]);
  await a.folder.approve(held.status === 'held' ? held.held : assert.fail('not held'));
  await killedPass('head');
  await reopen();
  assert.equal((await a.pass()).status, 'synced');
  // 5 of the 15 left: no hold, unless the 15 deleted before the confirmation still count.
  for (const p of range(25, 30)) await a.remove(p);
  assert.equal(heldAs(await a.pass()), 'synced');
});
