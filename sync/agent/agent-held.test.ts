// Held mass deletes with live agents: the hold, its answers (confirm, restore), and how they
// outlive a pause, a restart and a pass that runs meanwhile.
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { AgentEvent } from '../../shared/agent-api.js';
import { ForwardingStore } from '../store/forwarding.js';
import type { PutBody } from '../store/index.js';
import { MemoryStore } from '../store/memory.js';
import { isStrataError } from '../errors.js';
import { SyncFolder, type PassResult } from './folder.js';
import { initStore, listDir, tempRoot } from './testkit.js';
import { count, heldCounts, listing, machine, setup, waitFor } from './live-testkit.js';

test('deletes of more than half of the files wait for confirmation, on the machine that made them and on the others', async (t) => {
  const { a, b } = await setup(t, { watch: false });
  const events: AgentEvent[] = [];
  a.agent.subscribe((e) => events.push(e));
  for (let i = 0; i < 20; i++) await writeFile(join(b.root, `f${i}.txt`), `file ${i}`);
  await waitFor('files on a', count(a, 20));
  await b.agent.call('pause', {});
  for (let i = 0; i < 15; i++) await rm(join(b.root, `f${i}.txt`));
  await b.agent.call('resume', {});
  await waitFor('b holding its deletes', () => b.agent.status().folders[0]!.pendingDeletes !== undefined);
  assert.deepEqual(heldCounts(b), { direction: 'local', files: 15, of: 20 });
  await a.agent.passesDone(2);
  assert.equal(Object.keys(await listDir(a.root)).length, 20, 'nothing left b before its confirmation');
  await assert.rejects(b.agent.call('confirmDeletes', { root: '/nowhere' }), /no synced folder/);
  await b.agent.call('confirmDeletes', { root: b.root });
  await waitFor('a holding the deletes', () => a.agent.status().folders[0]!.pendingDeletes !== undefined);
  assert.deepEqual(heldCounts(a), { direction: 'remote', files: 15, of: 20 });
  assert.equal(Object.keys(await listDir(a.root)).length, 20, 'nothing deleted on a before its confirmation');
  await a.agent.call('confirmDeletes', { root: a.root });
  // The files go during the pass, the hold once it is recorded: wait for both.
  await waitFor('deletes applied on a, and its hold gone', async () => (await count(a, 5)()) && a.agent.status().folders[0]!.pendingDeletes === undefined);
  assert.ok(events.some((e) => e.type === 'status' && e.status.folders[0]!.pendingDeletes !== undefined), 'the held pass was announced');
});

test('deletes spread over passes, and over a restart, are held once together they make more than half of the files, on both machines', async (t) => {
  const { a, b } = await setup(t, { watch: false });
  for (let i = 0; i < 20; i++) await writeFile(join(b.root, `f${i}.txt`), `file ${i}`);
  await waitFor('files on a', count(a, 20));
  const removeOnB = async (from: number, to: number): Promise<void> => {
    await b.agent.call('pause', {});
    for (let i = from; i < to; i++) await rm(join(b.root, `f${i}.txt`));
    await b.agent.call('resume', {});
  };
  await removeOnB(0, 8);
  await waitFor('the first 8 deletes on a', count(a, 12));
  assert.equal(b.agent.status().folders[0]!.pendingDeletes, undefined, '8 of 20 goes through');
  assert.equal(a.agent.status().folders[0]!.pendingDeletes, undefined);
  await b.restart(); // the hour is kept in the state dir
  // 4 more: 12 of the 20 files there were within the hour.
  await removeOnB(8, 12);
  await waitFor('b holding the deletes', () => b.agent.status().folders[0]!.pendingDeletes !== undefined);
  assert.deepEqual(heldCounts(b), { direction: 'local', files: 12, of: 20 });
  await a.agent.passesDone(2);
  assert.equal(Object.keys(await listDir(a.root)).length, 12, 'the 4 wait for the confirmation');
  await b.agent.call('confirmDeletes', { root: b.root });
  await waitFor('a holding the deletes', () => a.agent.status().folders[0]!.pendingDeletes !== undefined);
  assert.deepEqual(heldCounts(a), { direction: 'remote', files: 12, of: 20 });
  await a.agent.call('confirmDeletes', { root: a.root });
  await waitFor('deletes applied on a, and its hold gone', async () => (await count(a, 8)()) && a.agent.status().folders[0]!.pendingDeletes === undefined);
  // A confirmation settles what was deleted so far: one more delete on b goes through.
  await removeOnB(12, 13);
  await waitFor('the next delete on a', count(a, 7));
  assert.equal(b.agent.status().folders[0]!.pendingDeletes, undefined);
});

test('a held mass delete restored: the files deleted here come back, those of the hour too, and the other machine never loses them', async (t) => {
  const { a, b } = await setup(t, { watch: false });
  await mkdir(join(b.root, 'docs'));
  for (let i = 0; i < 20; i++) await writeFile(join(b.root, i < 10 ? `docs/f${i}.txt` : `f${i}.txt`), `file ${i}`);
  await waitFor('files on a', count(a, 21));
  const before = await listing(b);
  const removeOnB = async (from: number, to: number): Promise<void> => {
    await b.agent.call('pause', {});
    for (let i = from; i < to; i++) await rm(join(b.root, `f${i}.txt`));
    await b.agent.call('resume', {});
  };
  // 8 of 20 go through; then the whole docs folder and 2 more: 20 of 20 within the hour.
  await removeOnB(10, 18);
  await waitFor('the first 8 deletes on a', count(a, 13));
  await b.agent.call('pause', {});
  await rm(join(b.root, 'docs'), { recursive: true });
  await removeOnB(18, 20);
  await waitFor('b holding the deletes', () => b.agent.status().folders[0]!.pendingDeletes !== undefined);
  assert.deepEqual(heldCounts(b), { direction: 'local', files: 20, of: 20 });
  await assert.rejects(a.agent.call('restoreDeletes', { root: a.root }), /no pass of this folder is waiting/);
  await b.agent.call('restoreDeletes', { root: b.root });
  await waitFor('the files back on b, and its hold gone', async () => isDeepStrictEqual(await listing(b), before) && b.agent.status().folders[0]!.pendingDeletes === undefined);
  await waitFor('the files back on a', async () => isDeepStrictEqual(await listing(a), before));
  // Restoring settled the hour: a delete now goes through.
  await rm(join(b.root, 'docs/f0.txt'));
  await b.agent.call('syncNow', {});
  await waitFor('the next delete on a', count(a, 20));
  assert.equal(b.agent.status().folders[0]!.pendingDeletes, undefined);
});

test('a mass delete from another machine restored here: the files stay, and go back to the layer for every machine', async (t) => {
  const { a, b } = await setup(t, { watch: false });
  for (let i = 0; i < 20; i++) await writeFile(join(b.root, `f${i}.txt`), `file ${i}`);
  await waitFor('files on a', count(a, 20));
  const before = await listing(a);
  await b.agent.call('pause', {});
  for (let i = 0; i < 15; i++) await rm(join(b.root, `f${i}.txt`));
  await b.agent.call('resume', {});
  await waitFor('b holding its deletes', () => b.agent.status().folders[0]!.pendingDeletes !== undefined);
  await b.agent.call('confirmDeletes', { root: b.root });
  await waitFor('a holding the deletes', () => a.agent.status().folders[0]!.pendingDeletes !== undefined);
  assert.deepEqual(heldCounts(a), { direction: 'remote', files: 15, of: 20 });
  await a.agent.call('restoreDeletes', { root: a.root });
  await waitFor('a synced, its hold gone', () => a.agent.status().folders[0]!.pendingDeletes === undefined && a.agent.status().folders[0]!.state === 'idle');
  assert.deepEqual(await listing(a), before, 'nothing deleted on a');
  await waitFor('the files back on b', async () => isDeepStrictEqual(await listing(b), before));
});

/** An agent (no watcher, a long poll) whose folder synced 20 files, then holds the deletes of 15 of them. */
async function heldDeletes(t: TestContext, name: string) {
  const base = await tempRoot(t, name);
  const store = new MemoryStore();
  await initStore(store);
  const m = await machine(base, 'deva', store, { watch: false, pollMs: 60_000 });
  t.after(() => m.agent.stop());
  for (let i = 0; i < 20; i++) await writeFile(join(m.root, `f${i}.txt`), `file ${i}`);
  await m.agent.call('syncNow', {});
  await waitFor('the files synced', () => m.agent.status().folders[0]!.files === 20);
  for (let i = 0; i < 15; i++) await rm(join(m.root, `f${i}.txt`));
  await m.agent.call('syncNow', {});
  await waitFor('the deletes held', () => m.agent.status().folders[0]!.pendingDeletes !== undefined);
  return m;
}

test('an answer given while paused is carried out after a restart, without asking again', async (t) => {
  const { a, b } = await setup(t, { watch: false });
  for (let i = 0; i < 20; i++) await writeFile(join(a.root, `f${i}.txt`), `file ${i}`);
  await waitFor('files on b', count(b, 20));
  for (let i = 0; i < 15; i++) await rm(join(a.root, `f${i}.txt`));
  await a.agent.call('syncNow', {});
  await waitFor('a holding its deletes', () => a.agent.status().folders[0]!.pendingDeletes !== undefined);
  await a.agent.call('pause', {});
  assert.equal((await a.agent.call('confirmDeletes', { root: a.root })).folders[0]!.pendingDeletes?.answer, 'confirm');
  // The user quits the app before resuming; it starts again paused.
  await a.restart();
  const events: AgentEvent[] = [];
  a.agent.subscribe((e) => events.push(e));
  await a.agent.call('resume', {});
  await waitFor('the answer carried out on a', () => a.agent.status().folders[0]!.answered === 'confirm');
  await waitFor('b holding the deletes a made', () => b.agent.status().folders[0]!.pendingDeletes !== undefined);
  assert.deepEqual(heldCounts(b), { direction: 'remote', files: 15, of: 20 });
  assert.deepEqual(events.filter((e) => e.type === 'status' && e.status.folders[0]!.pendingDeletes !== undefined), [], 'the user was not asked again');
});

test('an answer names the hold the user saw: once a pass holds other deletes, it is refused (E_HOLD_CHANGED) and the new hold waits for its own', async (t) => {
  const base = await tempRoot(t, 'agent-hold-changed');
  const mem = new MemoryStore();
  await initStore(mem);
  const m = await machine(base, 'deva', mem, { watch: false });
  t.after(() => m.agent.stop());
  for (let i = 0; i < 20; i++) await writeFile(join(m.root, `f${i}.txt`), `file ${i}`);
  await m.agent.call('syncNow', {});
  await waitFor('20 files synced', () => m.agent.status().folders[0]!.syncedPasses > 0 && m.agent.status().folders[0]!.files === 20);
  for (let i = 0; i < 15; i++) await rm(join(m.root, `f${i}.txt`));
  await m.agent.call('syncNow', {});
  await waitFor('a hold of 15', () => m.agent.status().folders[0]!.pendingDeletes?.files === 15);
  const seen = m.agent.status().folders[0]!.pendingDeletes!;
  // While the user reads it, two more files go and a pass replaces the hold.
  for (const p of ['f15.txt', 'f16.txt']) await rm(join(m.root, p));
  await m.agent.call('syncNow', {});
  await waitFor('a hold of 17', () => m.agent.status().folders[0]!.pendingDeletes?.files === 17);
  for (const command of ['confirmDeletes', 'restoreDeletes'] as const) {
    await assert.rejects(m.agent.call(command, { root: m.root, id: seen.id! }), (err) => {
      assert.ok(isStrataError(err, 'E_HOLD_CHANGED') && /changed since/.test(err.message) && err.path === m.root, String(err));
      return true;
    });
  }
  const now = m.agent.status().folders[0]!.pendingDeletes!;
  assert.equal(now.answer, undefined, 'the new hold still waits for the user');
  assert.deepEqual(Object.keys(await listDir(m.root)).sort(), ['f17.txt', 'f18.txt', 'f19.txt']);
  await m.agent.call('restoreDeletes', { root: m.root, id: now.id! });
  await waitFor('all 20 back', count(m, 20));
});

test('an answer to a held mass delete given while a pass runs stays taken when that pass, which began before it, holds the same deletes', async (t) => {
  const original = SyncFolder.prototype.pass;
  let gate: Promise<void> | undefined;
  let reached = false;
  t.mock.method(SyncFolder.prototype, 'pass', async function (this: SyncFolder, signal?: AbortSignal) {
    const r = await original.call(this, signal);
    if (gate !== undefined) {
      reached = true;
      await gate;
    }
    return r;
  });
  const m = await heldDeletes(t, 'agent-answer-mid-pass');
  // A pass begins (a poll, a save elsewhere in the folder) and is still running when the user answers.
  let open!: () => void;
  gate = new Promise((r) => (open = r));
  await m.agent.call('syncNow', {});
  await waitFor('a pass running', () => reached);
  const answered = await m.agent.call('confirmDeletes', { root: m.root });
  assert.equal(answered.folders[0]!.pendingDeletes?.answer, 'confirm');
  const seen: AgentEvent[] = [];
  m.agent.subscribe((e) => seen.push(e));
  gate = undefined;
  open();
  await waitFor('the deletes made and the hold gone', async () => (await count(m, 5)()) && m.agent.status().folders[0]!.pendingDeletes === undefined);
  const asked = seen.filter((e) => e.type === 'status' && e.status.folders[0]!.pendingDeletes !== undefined && e.status.folders[0]!.pendingDeletes.answer === undefined);
  assert.deepEqual(asked, [], 'the answer taken was never shown as awaited again');
});

test('a held mass delete stays in the status, with its answer, while the pass that acts on it ends in retry', async (t) => {
  const original = SyncFolder.prototype.pass;
  let cutShort = false;
  t.mock.method(SyncFolder.prototype, 'pass', async function (this: SyncFolder, signal?: AbortSignal) {
    if (cutShort) {
      // The user's saves meet the apply: it stops, and the agent runs the pass again.
      cutShort = false;
      return { status: 'retry', scan: { changed: [], skipped: new Map() } } satisfies PassResult;
    }
    return original.call(this, signal);
  });
  const m = await heldDeletes(t, 'agent-held-retry');
  const seen: AgentEvent[] = [];
  m.agent.subscribe((e) => seen.push(e));
  cutShort = true;
  const cut = m.agent.passesDone();
  await m.agent.call('confirmDeletes', { root: m.root });
  await cut;
  const after = m.agent.status().folders[0]!;
  assert.equal(after.pendingDeletes?.answer, 'confirm', 'the answer stands after the retry');
  assert.equal(after.answered, undefined, 'the retry did not carry it out');
  await waitFor('the deletes made', () => m.agent.status().folders[0]!.answered === 'confirm');
  assert.equal(m.agent.status().folders[0]!.files, 5);
  const statuses = seen.flatMap((e) => (e.type === 'status' ? [e.status.folders[0]!] : []));
  assert.deepEqual(statuses.filter((f) => f.answered === undefined && f.pendingDeletes?.answer !== 'confirm'), [], 'no status before the deletes dropped the answer');
});

/** Holds every put while `gate` is set, until it is opened; `reached` resolves at the first one held. */
class GatedPuts extends ForwardingStore {
  gate: Promise<void> | undefined;
  private arrived: (() => void) | undefined;

  arm(): { reached: Promise<void>; open: () => void } {
    let open!: () => void;
    this.gate = new Promise((r) => (open = r));
    const reached = new Promise<void>((r) => (this.arrived = r));
    return { reached, open: () => ((this.gate = undefined), open()) };
  }

  override async put(key: string, body: PutBody): Promise<void> {
    const gate = this.gate;
    if (gate !== undefined) {
      this.arrived?.();
      await gate;
    }
    return super.put(key, body);
  }
}

test('an answer changed from confirm to restore while the pass carrying out the confirmation writes to the bucket is carried out: the files come back', async (t) => {
  const base = await tempRoot(t, 'agent-answer-changed');
  const mem = new MemoryStore();
  await initStore(mem);
  const gated = new GatedPuts(mem);
  const m = await machine(base, 'deva', gated, { watch: false, pollMs: 60_000 });
  t.after(() => m.agent.stop());
  for (let i = 0; i < 20; i++) await writeFile(join(m.root, `f${i}.txt`), `file ${i}`);
  await m.agent.call('syncNow', {});
  await waitFor('the files synced', () => m.agent.status().folders[0]!.files === 20);
  const before = await listing(m);
  for (let i = 0; i < 15; i++) await rm(join(m.root, `f${i}.txt`));
  await m.agent.call('syncNow', {});
  await waitFor('the deletes held', () => m.agent.status().folders[0]!.pendingDeletes !== undefined);
  // The confirmation's pass writes the layer without the files; the user changes their mind as it does.
  const { reached, open } = gated.arm();
  await m.agent.call('confirmDeletes', { root: m.root });
  await reached;
  assert.equal((await m.agent.call('restoreDeletes', { root: m.root })).folders[0]!.pendingDeletes?.answer, 'restore');
  open();
  await waitFor('the hold ended', () => m.agent.status().folders[0]!.pendingDeletes === undefined);
  await waitFor('the files back', async () => isDeepStrictEqual(await listing(m), before));
  assert.equal(m.agent.status().folders[0]!.answered, 'restore');
});

test('an answer that finds nothing held any more is said in the status, not carried out, and not kept', async (t) => {
  const { a } = await setup(t, { watch: false });
  for (let i = 0; i < 20; i++) await writeFile(join(a.root, `f${i}.txt`), `file ${i}`);
  await a.agent.call('syncNow', {});
  await waitFor('files synced on a', () => a.agent.status().folders[0]!.files === 20);
  for (let i = 0; i < 15; i++) await rm(join(a.root, `f${i}.txt`));
  await a.agent.call('syncNow', {});
  await waitFor('a holding its deletes', () => a.agent.status().folders[0]!.pendingDeletes !== undefined);
  await a.agent.call('pause', {});
  await a.agent.call('restoreDeletes', { root: a.root });
  // The user puts the files back by hand before sync resumes.
  for (let i = 0; i < 15; i++) await writeFile(join(a.root, `f${i}.txt`), `file ${i}`);
  await a.agent.call('resume', {});
  await waitFor('the hold gone', () => a.agent.status().folders[0]!.pendingDeletes === undefined);
  const f = a.agent.status().folders[0]!;
  assert.deepEqual([f.answered, f.notCarried], [undefined, { answer: 'restore', why: 'the files are already back' }]);
  const kept = (await readdir(a.stateDir, { recursive: true })).filter((p) => p.endsWith('held-answer.json'));
  assert.deepEqual(kept, [], 'the answer is not kept');
  await a.agent.passesDone(1);
  assert.deepEqual(a.agent.status().folders[0]!.notCarried?.answer, 'restore', 'it stands after the next pass');
});

test("while a mass delete made here waits, the folder's file count is what its disk holds, as the hold counts it (the status after a restart says the same)", async (t) => {
  // Only syncNow starts a pass: a poll meanwhile would find part of the deletes and hold those alone.
  const { a } = await setup(t, { watch: false, pollMs: 3_600_000 });
  const removeOnA = async (from: number, to: number): Promise<void> => {
    for (let i = from; i < to; i++) await rm(join(a.root, `f${i}.txt`));
    await a.agent.call('syncNow', {});
  };
  for (let i = 0; i < 39; i++) await writeFile(join(a.root, `f${i}.txt`), `file ${i}`);
  await a.agent.call('syncNow', {});
  await waitFor('a synced 39 files', () => a.agent.status().folders[0]!.files === 39);
  await removeOnA(0, 4);
  await waitFor('4 deletes through', () => a.agent.status().folders[0]!.files === 35);
  await removeOnA(4, 36);
  await waitFor('a holding its deletes', () => a.agent.status().folders[0]!.pendingDeletes !== undefined);
  assert.deepEqual(heldCounts(a), { direction: 'local', files: 36, of: 39 });
  assert.equal(a.agent.status().folders[0]!.files, 3, '39 files, 36 of them deleted');
  await a.restart();
  assert.equal(a.agent.status().folders[0]!.files, 3, 'after a restart');
});
