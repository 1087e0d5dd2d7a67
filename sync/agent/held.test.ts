import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { Readable } from 'node:stream';
import { StrataError } from '../errors.js';
import { ForwardingStore } from '../store/forwarding.js';
import type { ByteRange, PutBody } from '../store/index.js';
import { MemoryStore } from '../store/memory.js';
import { Device, initStore, tempRoot } from './testkit.js';

/** One device whose folder keeps its deletes and its answer to a hold in its state dir, with 20 files synced. */
async function twentyFiles(t: TestContext, name: string): Promise<Device> {
  const base = await tempRoot(t, name);
  const mem = new MemoryStore();
  await initStore(mem);
  const state = join(base, 'deva', 'state');
  const a = await Device.create(base, 'deva', mem, { deletesFile: join(state, 'deletes.json'), answerFile: join(state, 'held-answer.json') });
  t.after(() => a.close());
  for (let i = 0; i < 20; i++) await a.write(`f${i}.txt`, `file ${i}`);
  assert.equal((await a.pass()).status, 'synced');
  return a;
}

const present = async (a: Device): Promise<string[]> => Object.keys(await a.listing()).sort();
const names = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `f${from + i}.txt`).sort();

test('an answer to a held mass delete goes only to that hold: other files deleted in the same numbers are held again', async (t) => {
  const a = await twentyFiles(t, 'held-identity');
  for (let i = 0; i < 15; i++) await a.remove(`f${i}.txt`);
  const first = await a.pass();
  assert.equal(first.status, 'held');
  await a.folder.approve(first.status === 'held' ? first.held : assert.fail('not held'));
  // Before the pass acts on it, the user puts those files back and deletes others: 15 of 20 again.
  for (let i = 0; i < 15; i++) await a.write(`f${i}.txt`, `file ${i}`);
  for (let i = 5; i < 20; i++) await a.remove(`f${i}.txt`);
  const second = await a.pass();
  assert.equal(second.status, 'held', 'the confirmation was for other files');
  assert.deepEqual(second.status === 'held' && { files: second.held.files, of: second.held.of }, { files: 15, of: 20 });
  assert.notEqual(second.status === 'held' && second.held.id, first.held.id);
});

test('an answer to a held mass delete outlives a restart, and the next start acts on it when it holds the same deletes', async (t) => {
  const a = await twentyFiles(t, 'held-restart');
  for (let i = 0; i < 15; i++) await a.remove(`f${i}.txt`);
  const held = await a.pass();
  assert.equal(held.status, 'held');
  await a.folder.approve(held.status === 'held' ? held.held : assert.fail('not held'));
  await a.restart({});
  const r = await a.pass();
  assert.equal(r.status, 'synced', 'the user is not asked again');
  assert.equal(r.status === 'synced' && r.answered, 'confirm');
  assert.deepEqual(await present(a), names(15, 20));
});

test('an answer kept over a restart is not taken for a different hold found at the start', async (t) => {
  const a = await twentyFiles(t, 'held-restart-other');
  for (let i = 0; i < 15; i++) await a.remove(`f${i}.txt`);
  const held = await a.pass();
  assert.equal(held.status, 'held');
  await a.folder.restoreHeld(held.status === 'held' ? held.held : assert.fail('not held'));
  await a.close();
  // While the agent is down, the user deletes more: a hold of 17 files, not the 15 answered.
  for (const p of ['f15.txt', 'f16.txt']) await a.remove(p);
  await a.open();
  a.folder.markAllDirty();
  const r = await a.pass();
  assert.equal(r.status, 'held');
  assert.equal(r.status === 'held' && r.held.files, 17);
  assert.deepEqual(await present(a), names(17, 20), 'nothing was put back');
});

test('a damaged answer record is no answer: the hold is asked again', async (t) => {
  const a = await twentyFiles(t, 'held-damaged');
  for (let i = 0; i < 15; i++) await a.remove(`f${i}.txt`);
  const held = await a.pass();
  await a.folder.approve(held.status === 'held' ? held.held : assert.fail('not held'));
  await a.close();
  await writeFile(join(a.state, 'held-answer.json'), '{"id": 7, "answer": "confirm"}');
  await a.open();
  assert.equal((await a.pass()).status, 'held');
  assert.deepEqual(await present(a), names(15, 20));
});

test('a confirmed mass delete whose apply the user cut short is finished by the next pass, without asking again', async (t) => {
  let beforeWrite: ((path: string) => void) | undefined;
  const { a, held } = await heldOnBoth(t, 'held-retry', { onWrite: (p) => beforeWrite?.(p) });
  await a.folder.approve(held);
  // While the pass deletes, the user saves one of the files it is about to delete: an edit wins over a delete.
  beforeWrite = (p) => {
    beforeWrite = undefined;
    writeFileSync(join(a.root, p === 'f3.txt' ? 'f4.txt' : 'f3.txt'), 'edited on a');
  };
  const cut = await a.pass();
  assert.equal(cut.status, 'retry');
  const stillThere = Object.keys(await a.listing()).find((p) => /^f([0-9]|1[0-4])\.txt$/.test(p) && p !== 'f3.txt' && p !== 'f4.txt');
  assert.ok(stillThere !== undefined, 'the apply was cut short: some files the answer deletes are still there');
  const next = await a.pass();
  assert.equal(next.status, 'synced', 'the user is not asked again');
  assert.equal(next.status === 'synced' && next.answered, 'confirm');
  const left = await a.listing();
  assert.deepEqual(Object.keys(left).filter((p) => !/^f(1[5-9])\.txt$/.test(p)).length, 1, 'only the edited file stays');
  assert.ok(Object.values(left).includes('edited on a'));
});

/**
 * Two devices with `n` files synced; a's executor is cut short (a file it is about to delete is
 * edited) once `cutAt()` says so, counted in paths it has told the watcher about.
 */
async function cutShort(t: TestContext, name: string, n: number): Promise<{ a: Device; b: Device; cutAt: (calls: number) => void }> {
  const base = await tempRoot(t, name);
  const mem = new MemoryStore();
  await initStore(mem);
  let left = Infinity;
  const cut = (p: string): void => {
    if (--left !== 0) return;
    const other = names(0, n).find((q) => q !== p && existsSync(join(a.root, q)) && !existsSync(join(b.root, q)));
    if (other !== undefined) writeFileSync(join(a.root, other), 'edited on a');
  };
  const state = join(base, 'deva', 'state');
  const a = await Device.create(base, 'deva', mem, { suppress: (p) => cut(p), deletesFile: join(state, 'deletes.json'), answerFile: join(state, 'held-answer.json') });
  const b = await Device.create(base, 'devb', mem);
  t.after(async () => {
    await a.close();
    await b.close();
  });
  for (let i = 0; i < n; i++) await b.write(`f${i}.txt`, `file ${i}`);
  await b.pass();
  await a.pass();
  return { a, b, cutAt: (calls) => (left = calls) };
}

test("another device's deletes that a pass applied before it was cut short are not taken for deletes made on this machine", async (t) => {
  const { a, b, cutAt } = await cutShort(t, 'held-retry-local', 40);
  for (let i = 0; i < 15; i++) await b.remove(`f${i}.txt`);
  assert.equal((await b.pass()).status, 'synced', '15 of 40 go through');
  cutAt(12);
  assert.equal((await a.pass()).status, 'retry');
  assert.equal((await a.pass()).status, 'synced');
  // 10 of the 26 files left deleted here: no mass delete, unless b's deletes are counted as a's.
  for (let i = 15; i < 25; i++) await a.remove(`f${i}.txt`);
  const r = await a.pass();
  assert.equal(r.status, 'synced', `not held: ${JSON.stringify(r.status === 'held' && r.held)}`);
  assert.equal((await b.pass()).status, 'synced', 'nor on b');
});

test('deletes a pass made before it was cut short count towards the next hold, and a restore puts them back', async (t) => {
  const { a, b, cutAt } = await cutShort(t, 'held-retry-hour', 40);
  const before = await a.listing();
  for (let i = 0; i < 15; i++) await b.remove(`f${i}.txt`);
  assert.equal((await b.pass()).status, 'synced', '15 of 40 go through');
  cutAt(12);
  assert.equal((await a.pass()).status, 'retry');
  assert.equal((await a.pass()).status, 'synced');
  // The edited file came back to b as a's edit: b deletes 10 of the others, held there and confirmed.
  assert.equal((await b.pass()).status, 'synced');
  for (let i = 15; i < 25; i++) await b.remove(`f${i}.txt`);
  const onB = await b.pass();
  await b.folder.approve(onB.status === 'held' ? onB.held : assert.fail('not held on b'));
  assert.equal((await b.pass()).status, 'synced');
  const onA = await a.pass();
  assert.equal(onA.status, 'held', 'the 14 deleted within the hour, with these 10, make more than half of the files');
  assert.deepEqual(onA.status === 'held' && [onA.held.direction, onA.held.files, onA.held.of], ['remote', 24, 40]);
  await a.folder.restoreHeld(onA.status === 'held' ? onA.held : assert.fail('not held'));
  assert.equal((await a.pass()).status, 'synced');
  const after = await a.listing();
  for (const p of Object.keys(before)) assert.ok(after[p] !== undefined, `${p} is back`);
});

test('a confirmed mass delete cut short after most of its deletes is finished as that answer, and settles them all', async (t) => {
  const { a, b, cutAt } = await cutShort(t, 'held-retry-confirmed', 40);
  for (let i = 0; i < 30; i++) await b.remove(`f${i}.txt`);
  const onB = await b.pass();
  await b.folder.approve(onB.status === 'held' ? onB.held : assert.fail('not held on b'));
  assert.equal((await b.pass()).status, 'synced');
  const onA = await a.pass();
  await a.folder.approve(onA.status === 'held' ? onA.held : assert.fail('not held on a'));
  cutAt(25);
  assert.equal((await a.pass()).status, 'retry');
  const next = await a.pass();
  assert.equal(next.status, 'synced', `not asked again: ${JSON.stringify(next.status === 'held' && next.held)}`);
  assert.equal(next.status === 'synced' && next.answered, 'confirm', 'the pass says it carried out the answer');
  assert.ok(Object.values(await a.listing()).includes('edited on a'));
  // The confirmation settled the deletes: the next one from b goes through.
  assert.equal((await b.pass()).status, 'synced');
  await b.remove('f30.txt');
  assert.equal((await b.pass()).status, 'synced');
  assert.equal((await a.pass()).status, 'synced');
});

/** Fails the requests `refuse` names, as a bucket gone away would. */
class Outage extends ForwardingStore {
  refuse: ((key: string, put: boolean) => boolean) | undefined;

  private gone(key: string): Promise<never> {
    return Promise.reject(new StrataError('E_PERMANENT', 'the bucket is gone', { key }));
  }

  override get(key: string, range?: ByteRange): Promise<Uint8Array> {
    return this.refuse?.(key, false) === true ? this.gone(key) : super.get(key, range);
  }

  override getStream(key: string, range?: ByteRange): Promise<Readable> {
    return this.refuse?.(key, false) === true ? this.gone(key) : super.getStream(key, range);
  }

  override put(key: string, body: PutBody): Promise<void> {
    return this.refuse?.(key, true) === true ? this.gone(key) : super.put(key, body);
  }
}

/**
 * Device a with 26 of b's 40 files after a pass of a took b's delete of 15 and failed at the
 * store while it refused the requests `refuse` names; then a pass of b deleting 10 more, confirmed there.
 */
async function deletesThenOutage(t: TestContext, name: string, refuse: NonNullable<Outage['refuse']>): Promise<Device> {
  const base = await tempRoot(t, name);
  const mem = new MemoryStore();
  await initStore(mem);
  const store = new Outage(mem);
  const state = join(base, 'deva', 'state');
  let applying: (() => void) | undefined;
  const a = await Device.create(base, 'deva', store, { suppress: () => applying?.(), deletesFile: join(state, 'deletes.json') });
  const b = await Device.create(base, 'devb', mem);
  t.after(async () => {
    await a.close();
    await b.close();
  });
  for (let i = 0; i < 40; i++) await b.write(`f${i}.txt`, `file ${i}`);
  await b.pass();
  await a.pass();
  // Deletes come before writes in a plan: a's apply deletes these 15, then fetches new.txt.
  for (let i = 0; i < 15; i++) await b.remove(`f${i}.txt`);
  await b.write('new.txt', 'new on b');
  assert.equal((await b.pass()).status, 'synced', '15 of 40 go through');
  applying = () => (store.refuse = refuse);
  await assert.rejects(a.pass(), /the bucket is gone/);
  applying = undefined;
  assert.equal(Object.keys(await a.listing()).filter((p) => /^f([0-9]|1[0-4])\.txt$/.test(p)).length, 0, 'the deletes were made');
  store.refuse = undefined;
  a.folder.markAllDirty();
  assert.equal((await a.pass()).status, 'synced');
  assert.equal(await a.read('new.txt'), 'new on b');
  for (let i = 15; i < 25; i++) await b.remove(`f${i}.txt`);
  const onB = await b.pass();
  await b.folder.approve(onB.status === 'held' ? onB.held : assert.fail('not held on b'));
  assert.equal((await b.pass()).status, 'synced');
  return a;
}

test('deletes a pass made before a store fault stopped its apply count towards the next hold', async (t) => {
  const a = await deletesThenOutage(t, 'held-fault-apply', (key) => key.startsWith('data/'));
  // 10 of the 26 files left: no hold, unless the 15 deleted before the fault count.
  const onA = await a.pass();
  assert.equal(onA.status, 'held', 'the 15 deleted before the fault, with these 10, make more than half of the files');
  assert.deepEqual(onA.status === 'held' && [onA.held.direction, onA.held.files], ['remote', 25]);
});

test('deletes a pass applied before a store fault stopped its snapshot count towards the next hold', async (t) => {
  const a = await deletesThenOutage(t, 'held-fault-head', (key, put) => put && key.includes('/snapshots/'));
  const onA = await a.pass();
  assert.equal(onA.status, 'held', 'the 15 deleted before the fault, with these 10, make more than half of the files');
  assert.deepEqual(onA.status === 'held' && [onA.held.direction, onA.held.files], ['remote', 25]);
});

test('a confirmed mass delete whose snapshot the store refused is not asked about again', async (t) => {
  const base = await tempRoot(t, 'held-fault-answer');
  const mem = new MemoryStore();
  await initStore(mem);
  const store = new Outage(mem);
  const state = join(base, 'deva', 'state');
  const a = await Device.create(base, 'deva', store, { deletesFile: join(state, 'deletes.json'), answerFile: join(state, 'held-answer.json') });
  t.after(() => a.close());
  for (let i = 0; i < 20; i++) await a.write(`f${i}.txt`, `file ${i}`);
  assert.equal((await a.pass()).status, 'synced');
  for (let i = 0; i < 15; i++) await a.remove(`f${i}.txt`);
  const held = await a.pass();
  await a.folder.approve(held.status === 'held' ? held.held : assert.fail('not held'));
  store.refuse = (key, put) => put && key.includes('/snapshots/');
  await assert.rejects(a.pass(), /the bucket is gone/);
  store.refuse = undefined;
  const r = await a.pass();
  assert.equal(r.status, 'synced', 'the user is not asked again');
  assert.equal(r.status === 'synced' && r.answered, 'confirm');
});

/**
 * Two devices over 20 files: b deletes 15 and confirms the hold; a holds them too (`held`).
 * `onWrite` runs as a's executor tells the watcher of a path it writes or deletes; with
 * `keepInStateDir` a keeps its deletes and answer in its state dir, as an agent does.
 */
async function heldOnBoth(t: TestContext, name: string, opts: { onWrite?: (path: string) => void; keepInStateDir?: boolean } = {}) {
  const base = await tempRoot(t, name);
  const mem = new MemoryStore();
  await initStore(mem);
  const state = join(base, 'deva', 'state');
  const kept = opts.keepInStateDir === true ? { deletesFile: join(state, 'deletes.json'), answerFile: join(state, 'held-answer.json') } : {};
  const a = await Device.create(base, 'deva', mem, { suppress: (p) => opts.onWrite?.(p), ...kept });
  const b = await Device.create(base, 'devb', mem);
  t.after(async () => {
    await a.close();
    await b.close();
  });
  for (let i = 0; i < 20; i++) await b.write(`f${i}.txt`, `file ${i}`);
  await b.pass();
  await a.pass();
  const before = await a.listing();
  for (let i = 0; i < 15; i++) await b.remove(`f${i}.txt`);
  const onB = await b.pass();
  await b.folder.approve(onB.status === 'held' ? onB.held : assert.fail('not held on b'));
  assert.equal((await b.pass()).status, 'synced');
  const onA = await a.pass();
  const held = onA.status === 'held' ? onA.held : assert.fail('not held on a');
  return { a, b, held, before, state };
}

/** heldOnBoth, then a confirms, and the user gives a restore while a's pass carrying out the confirmation deletes the files. */
async function restoreDuringConfirm(t: TestContext, name: string, keepInStateDir = false) {
  let applying: (() => void) | undefined;
  const both = await heldOnBoth(t, name, { onWrite: () => applying?.(), keepInStateDir });
  const { a, held } = both;
  await a.folder.approve(held);
  let restored: Promise<void> | undefined;
  applying = () => {
    applying = undefined;
    restored = a.folder.restoreHeld(held);
  };
  const confirmed = await a.pass();
  await restored;
  return { ...both, confirmed };
}

test('a restore given while the pass carrying out the confirmation deletes the files puts them back at the next pass', async (t) => {
  const { a, b, before, confirmed } = await restoreDuringConfirm(t, 'held-late-restore');
  assert.equal(confirmed.status === 'synced' && confirmed.answered, 'confirm');
  const next = await a.pass();
  assert.equal(next.status === 'synced' && next.answered, 'restore', 'the pass says it carried out the restore');
  assert.deepEqual(await a.listing(), before, 'the files are back');
  assert.equal((await b.pass()).status, 'synced');
  assert.deepEqual(await b.listing(), before, 'and back on the other machine');
});

test('a restore given after the pass carrying out the confirmation was cut short puts back what it deleted, and the rest stays', async (t) => {
  const { a, b, cutAt } = await cutShort(t, 'held-late-restore-cut', 40);
  const before = await a.listing();
  for (let i = 0; i < 30; i++) await b.remove(`f${i}.txt`);
  const onB = await b.pass();
  await b.folder.approve(onB.status === 'held' ? onB.held : assert.fail('not held on b'));
  assert.equal((await b.pass()).status, 'synced');
  const onA = await a.pass();
  const held = onA.status === 'held' ? onA.held : assert.fail('not held on a');
  await a.folder.approve(held);
  cutAt(25);
  assert.equal((await a.pass()).status, 'retry');
  await a.folder.restoreHeld(held);
  const next = await a.pass();
  assert.equal(next.status === 'synced' && next.answered, 'restore', `the pass says it carried out the restore: ${JSON.stringify(next.status === 'held' && next.held)}`);
  const after = await a.listing();
  for (const p of Object.keys(before)) assert.ok(after[p] !== undefined, `${p} is back`);
});

test('a restore given while the pass carrying out the confirmation deletes the files puts them back after a restart', async (t) => {
  const { a, before, confirmed, state } = await restoreDuringConfirm(t, 'held-late-restore-restart', true);
  assert.equal(confirmed.status, 'synced');
  const kept = JSON.parse(await readFile(join(state, 'held-answer.json'), 'utf8')) as { answer: string; confirmed?: { earlier: { paths: string[] }[] } };
  const sources = kept.confirmed?.earlier.flatMap((r) => r.paths) ?? [];
  assert.deepEqual([kept.answer, sources.length, new Set(sources).size], ['restore', 15, 15], 'kept with the answer: one source for each file deleted');
  // The agent stops before the next pass, and starts again.
  await a.restart({});
  const next = await a.pass();
  assert.equal(next.status === 'synced' && next.answered, 'restore', 'the pass says it carried out the restore');
  assert.deepEqual(await a.listing(), before, 'the files are back');
  assert.equal(existsSync(join(state, 'held-answer.json')), false, 'the answer and what it needed are gone');
});

test('a restore that finds the files already back is not carried out, says so, and its record goes', async (t) => {
  const a = await twentyFiles(t, 'held-answer-no-hold');
  for (let i = 0; i < 15; i++) await a.remove(`f${i}.txt`);
  const held = await a.pass();
  await a.folder.restoreHeld(held.status === 'held' ? held.held : assert.fail('not held'));
  // Before the pass acts on it, the user puts the files back by hand.
  for (let i = 0; i < 15; i++) await a.write(`f${i}.txt`, `file ${i}`);
  const r = await a.pass();
  assert.equal(r.status, 'synced');
  assert.deepEqual(r.status === 'synced' && [r.answered, r.notCarried], [undefined, { answer: 'restore', why: 'the files are already back' }]);
  assert.equal(existsSync(join(a.state, 'held-answer.json')), false);
});

test('an answer given while a pass that finds no hold runs is dropped by the next pass, which says so, and not kept for a later hold', async (t) => {
  let applying: (() => void) | undefined;
  const { a, b, held, state } = await heldOnBoth(t, 'held-answer-late-no-hold', { onWrite: () => applying?.(), keepInStateDir: true });
  // b puts the files back; a's next pass lays them, and finds nothing to hold. The user answers meanwhile.
  for (let i = 0; i < 15; i++) await b.write(`f${i}.txt`, `back ${i}`);
  assert.equal((await b.pass()).status, 'synced');
  let restored: Promise<void> | undefined;
  applying = () => {
    applying = undefined;
    restored = a.folder.restoreHeld(held);
  };
  const laid = await a.pass();
  await restored;
  assert.equal(laid.status === 'synced' && laid.notCarried, undefined, 'the answer came after this pass read it');
  const next = await a.pass();
  assert.deepEqual(next.status === 'synced' && next.notCarried, { answer: 'restore', why: 'the files are already back' });
  assert.equal(existsSync(join(state, 'held-answer.json')), false, 'the answer does not linger');
});
