import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { AgentEvent } from '../../shared/agent-api.js';
import { CountingStore } from '../store/counting.js';
import { ForwardingStore } from '../store/forwarding.js';
import { MemoryStore } from '../store/memory.js';
import { skipWithoutS3 } from '../testing/s3.js';
import type { ByteRange, ListOptions, ObjectInfo, ObjectStore, PutBody } from '../store/index.js';
import { StrataError, isStrataError } from '../errors.js';
import { Agent } from './agent.js';
import { SyncFolder, type FolderOptions, type PassResult } from './folder.js';
import { syncOnce } from './once.js';
import { openRepository } from '../repo/index.js';
import { initStore, LAYER, listDir, tempRoot } from './testkit.js';
import { count, FAST, has, heldCounts, machine, requests, setup, waitFor, type Machine } from './live-testkit.js';

test('a save on one machine appears on the other, through the watcher and the poll', async (t) => {
  const { a, b } = await setup(t);
  await writeFile(join(a.root, 'hello.txt'), 'hi from a');
  await waitFor('hello.txt on b', has(b, 'hello.txt', 'hi from a'));
  await mkdir(join(b.root, 'docs'));
  await writeFile(join(b.root, 'docs', 'r.txt'), 'from b');
  await waitFor('docs/r.txt on a', has(a, 'docs/r.txt', 'from b'));
  const st = a.agent.status();
  assert.equal(st.deviceId, 'deva');
  assert.equal(st.folders[0]!.root, a.root);
  await waitFor('a idle with a last sync', () => a.agent.status().folders[0]!.state === 'idle' && a.agent.status().folders[0]!.lastSync !== undefined);
});

for (const s3 of [false, true]) {
  test(`paused: no store request at all, even across a restart; after resume the machines converge (${s3 ? 'Swift S3' : 'memory store'})`, { skip: s3 && skipWithoutS3 }, async (t) => {
  const { a, b } = await setup(t, {}, s3);
  await writeFile(join(a.root, 'one.txt'), '1');
  await waitFor('one.txt on b', has(b, 'one.txt', '1'));
  const st = await a.agent.call('pause', {});
  assert.equal(st.paused, true);
  assert.equal(st.state, 'paused');
  const before = requests(a);
  await writeFile(join(a.root, 'two.txt'), '2');
  await writeFile(join(b.root, 'three.txt'), '3');
  await b.agent.passesDone(3);
  await a.restart();
  assert.equal(a.agent.status().paused, true, 'the pause survives a restart');
  await b.agent.passesDone(3);
  await a.agent.call('syncNow', {});
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(requests(a), before, 'a paused agent sends no request');
  assert.equal((await listDir(a.root))['three.txt'], undefined);
  await a.agent.call('resume', {});
  await waitFor('two.txt on b', has(b, 'two.txt', '2'));
  await waitFor('three.txt on a', has(a, 'three.txt', '3'));
});
}

test('after a restart while paused, the status shows what the state dir knows: the files, the last sync, the conflicts, with no request', async (t) => {
  const { a } = await setup(t, { watch: false });
  await mkdir(join(a.root, 'docs'));
  for (const name of ['one.txt', 'docs/two.txt', 'notes.sync-conflict-20261201-101500-laptop.txt']) await writeFile(join(a.root, name), name);
  await a.agent.call('syncNow', {});
  await waitFor('a synced the 3 files', () => a.agent.status().folders[0]!.files === 3 && a.agent.status().folders[0]!.state === 'idle');
  await a.agent.call('pause', {});
  const before = a.agent.status().folders[0]!;
  assert.ok(before.lastSync !== undefined);
  const sent = requests(a);
  await a.restart();
  const after = a.agent.status();
  assert.equal(after.state, 'paused');
  assert.deepEqual(
    { files: after.folders[0]!.files, lastSync: after.folders[0]!.lastSync, conflicts: after.folders[0]!.conflicts.map((c) => c.copy) },
    { files: 3, lastSync: before.lastSync, conflicts: ['notes.sync-conflict-20261201-101500-laptop.txt'] },
  );
  assert.equal(requests(a), sent, 'nothing asked of the bucket');
});

test('a conflict the status lists before the store is opened (a paused start) is resolved on the disk, with no request; the next pass syncs it', async (t) => {
  const { a, b } = await setup(t, { watch: false });
  const copy = 'notes.sync-conflict-20261201-101500-laptop.txt';
  for (const name of ['notes.txt', copy]) await writeFile(join(a.root, name), name);
  await a.agent.call('syncNow', {});
  await waitFor('b has the copy', has(b, copy, copy));
  await a.agent.call('pause', {});
  await a.restart();
  const sent = requests(a);
  const after = await a.agent.call('resolveConflict', { root: a.root, copy, keep: 'copy' });
  assert.deepEqual(after.folders[0]!.conflicts, []);
  assert.deepEqual(await listDir(a.root), { 'notes.txt': copy });
  assert.equal(requests(a), sent, 'nothing asked of the bucket');
  await a.agent.call('resume', {});
  await waitFor('b follows', async () => isDeepStrictEqual(await listDir(b.root).catch(() => undefined), { 'notes.txt': copy }));
});

test('a conflict whose folder became a link to elsewhere since the scan is not resolved through the link: nothing outside the root changes', async (t) => {
  const { a } = await setup(t, { watch: false });
  const copy = 'docs/notes.sync-conflict-20261201-101500-laptop.txt';
  await mkdir(join(a.root, 'docs'));
  for (const name of ['docs/notes.txt', copy]) await writeFile(join(a.root, name), name);
  await a.agent.call('syncNow', {});
  await waitFor('a lists the conflict', () => a.agent.status().folders[0]!.conflicts.some((c) => c.copy === copy));
  await a.agent.call('pause', {});
  // Between the scan and the click, docs is swapped for a link to a folder outside the root.
  const outside = join(a.root, '..', 'outside');
  await mkdir(outside);
  for (const name of ['notes.txt', 'notes.sync-conflict-20261201-101500-laptop.txt']) await writeFile(join(outside, name), `outside ${name}`);
  await rename(join(a.root, 'docs'), join(a.root, '..', 'docs-away'));
  await symlink(outside, join(a.root, 'docs'));
  for (const keep of ['name', 'copy', 'both']) {
    await assert.rejects(a.agent.call('resolveConflict', { root: a.root, copy, keep }), (err) => isStrataError(err, 'E_VERSION_GONE') && /docs/.test(err.message), keep);
  }
  assert.deepEqual(await listDir(outside), { 'notes.txt': 'outside notes.txt', 'notes.sync-conflict-20261201-101500-laptop.txt': 'outside notes.sync-conflict-20261201-101500-laptop.txt' });
});

test('a pause saves the agent-wide last sync as it does each folder\'s: a restart shows the last synced pass, not the last one that wrote', async (t) => {
  let clock = Date.parse('2026-03-02T10:00:00Z');
  const { a } = await setup(t, { watch: false, now: () => new Date(clock) });
  await writeFile(join(a.root, 'one.txt'), 'one');
  await a.agent.call('syncNow', {});
  await waitFor('a synced one.txt', () => a.agent.status().folders[0]!.files === 1 && a.agent.status().folders[0]!.state === 'idle');
  assert.equal(a.agent.status().lastSync, new Date(clock).toISOString());
  // A pass that writes nothing, within the minute: the agent-wide time is saved later, or at the pause.
  clock += 10_000;
  const synced = new Date(clock).toISOString();
  await a.agent.call('syncNow', {});
  // A pass begun before the clock moved may end first: wait for one dated by the new time.
  await waitFor('a pass at the new time', () => a.agent.status().folders[0]!.lastSync === synced);
  await a.agent.call('pause', {});
  await a.restart();
  const after = a.agent.status();
  assert.deepEqual({ state: after.state, lastSync: after.lastSync, folder: after.folders[0]!.lastSync }, { state: 'paused', lastSync: synced, folder: synced });
});

test('the status says when all folders were last in sync, an idle pass included, not only the last one the state dir recorded', async (t) => {
  const base = await tempRoot(t, 'agent-last-sync');
  const mem = new MemoryStore();
  await initStore(mem);
  const root = join(base, 'root');
  await mkdir(root, { recursive: true });
  let now = Date.parse('2026-12-01T10:00:00Z');
  const agent = await Agent.start({ stateDir: join(base, 'state'), folders: [{ root, layer: LAYER }], openStore: () => mem, newDeviceId: () => 'deva', ...FAST, watch: false, pollMs: 60_000, now: () => new Date(now) });
  t.after(() => agent.stop());
  await waitFor('the first pass', () => agent.status().lastSync !== undefined);
  // An idle pass 20 s later: within the minute in which the state dir's record is not written again.
  now += 20_000;
  await agent.call('syncNow', {});
  const at = '2026-12-01T10:00:20.000Z';
  await waitFor('the idle pass in the status', () => agent.status().folders[0]!.lastSync === at);
  await waitFor('the idle pass as the last sync of all', () => agent.status().lastSync === at);
});

test('a sync --once run while the agent is stopped is the last sync its next paused start shows', async (t) => {
  const { a, store } = await setup(t, { watch: false });
  await writeFile(join(a.root, 'one.txt'), 'one');
  await a.agent.call('syncNow', {});
  await waitFor('a synced one.txt', () => a.agent.status().folders[0]!.files === 1 && a.agent.status().folders[0]!.state === 'idle');
  await a.agent.call('pause', {});
  const before = a.agent.status().folders[0]!.lastSync!;
  await a.agent.stop();
  await writeFile(join(a.root, 'two.txt'), 'two');
  const at = new Date(Date.parse(before) + 3_600_000);
  const r = await syncOnce({ stateDir: a.stateDir, repo: await openRepository(store), folder: { root: a.root, layer: LAYER }, now: () => at });
  assert.equal(r.status, 'synced');
  await a.restart();
  const after = a.agent.status();
  assert.equal(after.state, 'paused');
  assert.deepEqual({ lastSync: after.lastSync, folder: after.folders[0]!.lastSync, files: after.folders[0]!.files }, { lastSync: at.toISOString(), folder: at.toISOString(), files: 2 });
});

test('a missing root stops that folder with E_NO_ROOT and deletes nothing anywhere', async (t) => {
  const { a, b } = await setup(t);
  for (let i = 0; i < 12; i++) await writeFile(join(a.root, `f${i}.txt`), `file ${i}`);
  await waitFor('files on b', count(b, 12));
  // An unmount (or a move away) takes the whole folder at once.
  await rename(a.root, `${a.root}.gone`);
  await waitFor('a in error', () => a.agent.status().folders[0]!.error?.code === 'E_NO_ROOT');
  // Its parts apart, as the control endpoint answers an error: `strata status` and the UI join them, each part once.
  assert.deepEqual(a.agent.status().folders[0]!.error, { code: 'E_NO_ROOT', message: 'the synced folder is missing; sync of it is paused and nothing is deleted', path: a.root });
  await b.agent.passesDone(3);
  assert.equal(Object.keys(await listDir(b.root)).length, 12, 'nothing deleted on b');
  // The root comes back empty (a wrong mount): the guard holds the mass delete.
  await mkdir(a.root);
  await waitFor('a holding deletes', () => a.agent.status().folders[0]!.pendingDeletes !== undefined);
  assert.deepEqual(heldCounts(a), { direction: 'local', files: 12, of: 12 });
  await b.agent.passesDone(3);
  assert.equal(Object.keys(await listDir(b.root)).length, 12, 'still nothing deleted on b');
});

test('a root that goes and comes back while paused: the status says it missing, then no longer, with no pass run', async (t) => {
  const base = await tempRoot(t, 'agent-root-back-paused');
  const mem = new MemoryStore();
  await initStore(mem);
  const root = join(base, 'root');
  await mkdir(root, { recursive: true });
  const agent = await Agent.start({ stateDir: join(base, 'state'), folders: [{ root, layer: LAYER }], openStore: () => mem, newDeviceId: () => 'deva', ...FAST });
  t.after(() => agent.stop());
  await waitFor('the first pass', () => agent.status().folders[0]!.state === 'idle' && agent.passCount > 0);
  await agent.call('pause', {});
  const passes = agent.passCount;
  await rename(root, `${root}.gone`);
  await waitFor('the root seen missing', () => agent.status().folders[0]!.error?.code === 'E_NO_ROOT');
  await rename(`${root}.gone`, root);
  await waitFor('the root seen back', () => agent.status().folders[0]!.error === undefined);
  assert.deepEqual({ state: agent.status().state, folder: agent.status().folders[0]!.state }, { state: 'paused', folder: 'paused' });
  assert.equal(agent.passCount, passes, 'no pass ran while paused');
});

/**
 * Two machines in sync on doc.txt; both paused, each edits it, both resume: one conflict, which
 * both list before this returns. `beforeResume` sees the machines just before they resume.
 */
async function concurrentEdit(t: TestContext, beforeResume?: (a: Machine, b: Machine) => void): Promise<{ a: Machine; b: Machine }> {
  const { a, b } = await setup(t, { watch: false });
  await writeFile(join(a.root, 'doc.txt'), 'base');
  await a.agent.call('syncNow', {});
  await waitFor('doc on b', has(b, 'doc.txt', 'base'));
  await a.agent.call('pause', {});
  await b.agent.call('pause', {});
  await writeFile(join(a.root, 'doc.txt'), 'edit a');
  await writeFile(join(b.root, 'doc.txt'), 'edit b!');
  beforeResume?.(a, b);
  await a.agent.call('resume', {});
  await a.agent.passesDone(1);
  await b.agent.call('resume', {});
  await waitFor('conflict on both', () => a.agent.status().folders[0]!.conflicts.length === 1 && b.agent.status().folders[0]!.conflicts.length === 1);
  return { a, b };
}

test('a conflict is reported in the status and as an event on both machines', async (t) => {
  const seen: AgentEvent[] = [];
  const { a, b } = await concurrentEdit(t, (_, b) => b.agent.subscribe((e) => seen.push(e)));
  const [ca] = await a.agent.call('conflicts', {});
  const [cb] = await b.agent.call('conflicts', {});
  assert.deepEqual(ca, cb);
  assert.equal(ca!.path, 'doc.txt');
  assert.match(ca!.copy, /^doc\.sync-conflict-\d{8}-\d{6}-dev[ab]\.txt$/);
  assert.ok(seen.some((e) => e.type === 'conflict' && e.conflict.copy === ca!.copy));
});

test('a conflict resolved by keeping one version: the copy goes, and the other machine follows', async (t) => {
  const { a, b } = await concurrentEdit(t);
  const [c] = await a.agent.call('conflicts', {});
  const other = (await listDir(a.root))[c!.copy];
  await assert.rejects(a.agent.call('resolveConflict', { root: a.root, copy: 'nope.txt', keep: 'copy' }), /no such conflict copy/);
  await assert.rejects(a.agent.call('resolveConflict', { root: a.root, copy: c!.copy, keep: 'all' }), /keep must be "name", "copy" or "both"/);
  const after = await a.agent.call('resolveConflict', { root: a.root, copy: c!.copy, keep: 'copy' });
  assert.deepEqual(after.folders[0]!.conflicts, []);
  // A listing taken while a pass applies may meet a file going away: such a look is simply retried.
  const only = (m: Machine) => async () => isDeepStrictEqual(await listDir(m.root).catch(() => undefined), { 'doc.txt': other });
  await waitFor('a keeps the other version under the name', only(a));
  await waitFor('b follows', only(b));
});

test('a command naming what the agent does not have says so by its code: E_NO_FOLDER, E_NO_CONFLICT, E_NOT_HELD; a keep that is neither side is E_USAGE', async (t) => {
  const base = await tempRoot(t, 'agent-refusals');
  const mem = new MemoryStore();
  await initStore(mem);
  const m = await machine(base, 'deva', mem, { watch: false });
  t.after(() => m.agent.stop());
  const fails = (p: Promise<unknown>, code: string, message: RegExp) =>
    assert.rejects(p, (err) => {
      assert.ok(isStrataError(err, code as `E_${string}`) && message.test(err.message), String(err));
      return true;
    });
  await fails(m.agent.call('confirmDeletes', { root: '/nowhere' }), 'E_NO_FOLDER', /no synced folder has this root/);
  await fails(m.agent.call('restoreDeletes', { root: m.root }), 'E_NOT_HELD', /no pass of this folder is waiting for a confirmation/);
  await fails(m.agent.call('resolveConflict', { root: m.root, copy: 'nope.txt', keep: 'copy' }), 'E_NO_CONFLICT', /this folder lists no such conflict copy/);
  await fails(m.agent.call('resolveConflict', { root: m.root, copy: 'nope.txt', keep: 'all' }), 'E_USAGE', /keep must be "name", "copy" or "both"/);
});

/** Answers every request a little late, as a bucket far away does. */
class SlowStore extends ForwardingStore {
  override async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    await new Promise((r) => setTimeout(r, 150));
    return super.get(key, range);
  }

  override async *list(prefix: string, opts?: ListOptions): AsyncIterable<ObjectInfo> {
    await new Promise((r) => setTimeout(r, 150));
    yield* super.list(prefix, opts);
  }
}

test('a pause while the agent opens the bucket at start-up stops its requests before it returns', async (t) => {
  const base = await tempRoot(t, 'agent-open');
  const mem = new MemoryStore();
  await initStore(mem);
  const root = join(base, 'root');
  await mkdir(root, { recursive: true });
  const counter = new CountingStore(new SlowStore(mem));
  const agent = await Agent.start({ stateDir: join(base, 'state'), folders: [{ root, layer: LAYER }], openStore: () => counter, newDeviceId: () => 'deva', ...FAST });
  t.after(() => agent.stop());
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(counter.counts.gets + counter.counts.lists > 0, 'the agent is opening the bucket');
  await agent.call('pause', {});
  const c = counter.counts;
  const at = c.gets + c.lists + c.heads + c.puts;
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(c.gets + c.lists + c.heads + c.puts, at, 'no request after pause() returned');
});

test('stop() is idempotent: a second call, during the first or after it, resolves once the agent has stopped', async (t) => {
  const { a, b } = await setup(t);
  await writeFile(join(a.root, 'hello.txt'), 'hi');
  await waitFor('hello.txt on b', has(b, 'hello.txt', 'hi'));
  const both = await Promise.allSettled([a.agent.stop(), a.agent.stop()]);
  assert.deepEqual(both.map((s) => s.status), ['fulfilled', 'fulfilled']);
  await a.agent.stop();
  await b.agent.stop();
  await b.agent.stop();
});

/**
 * One machine on `store` (initialised here) that watches nothing and polls once a minute, so that
 * the passes a test asks for (syncNow) are all that run; resolves once its first pass is done.
 */
async function quietMachine(t: TestContext, name: string, store: ObjectStore): Promise<Machine> {
  await initStore(store);
  const m = await machine(await tempRoot(t, name), 'deva', store, { watch: false, pollMs: 60_000 });
  t.after(() => m.agent.stop());
  await waitFor('the first pass', () => m.agent.status().folders[0]!.state === 'idle' && m.agent.passCount > 0);
  return m;
}

/** Refuses every put while `down` is set, as a bucket that went away mid-pass does. */
class FlakyPuts extends ForwardingStore {
  down = false;

  override put(key: string, body: PutBody): Promise<void> {
    if (this.down) return Promise.reject(new StrataError('E_TRANSIENT', 'injected: the bucket went away', { key }));
    return super.put(key, body);
  }
}

test("a pass that fails leaves no progress figures standing: an offline folder does not show the failed upload's", async (t) => {
  const flaky = new FlakyPuts(new MemoryStore());
  const { agent, root } = await quietMachine(t, 'agent-failed-progress', flaky);
  for (let i = 0; i < 5; i++) await writeFile(join(root, `f${i}.txt`), `file ${i} `.repeat(500));
  const events: AgentEvent[] = [];
  agent.subscribe((e) => events.push(e));
  flaky.down = true;
  const failed = agent.passesDone();
  await agent.call('syncNow', {});
  await failed;
  const uploading = events.filter((e) => e.type === 'status' && e.status.folders[0]!.state === 'uploading');
  assert.ok(uploading.length > 0, 'the pass reported its upload before it failed');
  const f = agent.status().folders[0]!;
  assert.equal(f.state, 'offline');
  assert.equal(f.progress, undefined, JSON.stringify(f.progress));
});

test('a big upload pushes a status a few times a second, not once or twice per file', async (t) => {
  const { agent, root } = await quietMachine(t, 'agent-progress-pushes', new MemoryStore());
  const FILES = 600;
  for (let i = 0; i < FILES; i++) await writeFile(join(root, `f${i}.txt`), `file ${i} `.repeat(20));
  const events: AgentEvent[] = [];
  agent.subscribe((e) => events.push(e));
  let seen = 0;
  t.mock.method(agent, 'status', function (this: Agent, ...args: []) {
    seen++;
    return Agent.prototype.status.apply(this, args);
  });
  const synced = agent.passesDone();
  await agent.call('syncNow', {});
  await synced;
  const uploading = events.filter((e) => e.type === 'status' && e.status.folders[0]!.state === 'uploading');
  assert.ok(uploading.length > 0, 'the upload is shown');
  assert.ok(uploading.length < FILES / 6, `${uploading.length} statuses pushed for ${FILES} files`);
  assert.ok(seen < FILES / 3, `${seen} statuses built for ${FILES} files`);
  assert.equal(agent.status().folders[0]!.files, FILES);
});

test('a pause keeps the error of the last pass, which no pass has ended; a resume never shows the folder in sync with it, but as the error left it', async (t) => {
  const flaky = new FlakyPuts(new MemoryStore());
  const { agent, root } = await quietMachine(t, 'agent-paused-error', flaky);
  await writeFile(join(root, 'a.txt'), 'a');
  flaky.down = true;
  const failed = agent.passesDone();
  await agent.call('syncNow', {});
  await failed;
  assert.equal(agent.status().folders[0]!.state, 'offline');
  const paused = (await agent.call('pause', {})).folders[0]!;
  assert.equal(paused.state, 'paused');
  assert.equal(paused.error?.code, 'E_TRANSIENT', 'the last pass failed, and none ran since');
  const events: AgentEvent[] = [];
  agent.subscribe((e) => events.push(e));
  const again = agent.passesDone();
  const resumed = (await agent.call('resume', {})).folders[0]!;
  await again;
  assert.notEqual(resumed.state, 'idle', JSON.stringify(resumed));
  const idleWithError = events.filter((e) => e.type === 'status' && e.status.folders[0]!.state === 'idle' && e.status.folders[0]!.error !== undefined);
  assert.deepEqual(idleWithError, [], 'no status said the folder idle (in sync) with its error');
  assert.equal(agent.status().folders[0]!.state, 'offline');
  flaky.down = false;
  const synced = agent.passesDone();
  await agent.call('syncNow', {});
  await synced;
  assert.equal(agent.status().folders[0]!.error, undefined, 'a pass that ends takes the error away');
});

test('a pass that keeps finding the disk changing under it is run again at once only a few times, then waits for the next poll', async (t) => {
  // A file an app rewrites without pause (a log, a VM disk) makes every pass end in 'retry'.
  let passes = 0;
  t.mock.method(SyncFolder.prototype, 'pass', async () => {
    passes++;
    return { status: 'retry', scan: { changed: [], skipped: new Map() } } satisfies PassResult;
  });
  const base = await tempRoot(t, 'agent-retry');
  const store = new MemoryStore();
  await initStore(store);
  const m = await machine(base, 'deva', store, { pollMs: 60_000 });
  t.after(() => m.agent.stop());
  await waitFor('the immediate retries', () => passes >= 6);
  // Give an endless loop of retries room to show itself; the next poll is a minute away.
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(passes, 6, 'the first pass and five immediate retries, then nothing until the poll');
});

test('a folder whose passes keep ending in retry shows no step or progress of the last one while it waits for the next poll', async (t) => {
  let passes = 0;
  t.mock.method(SyncFolder.prototype, 'pass', async function (this: SyncFolder) {
    passes++;
    // Each pass gets as far as laying files before the disk changes under it.
    (this as unknown as { opts: FolderOptions }).opts.onPhase?.({ state: 'downloading', files: 1, filesTotal: 3, bytes: 100, bytesTotal: 300, counting: false });
    return { status: 'retry', scan: { changed: [], skipped: new Map() } } satisfies PassResult;
  });
  const base = await tempRoot(t, 'agent-retry-state');
  const store = new MemoryStore();
  await initStore(store);
  const m = await machine(base, 'deva', store, { pollMs: 60_000 });
  t.after(() => m.agent.stop());
  await waitFor('the first pass and five immediate retries', () => m.agent.passCount >= 6);
  assert.equal(passes, 6);
  const f = m.agent.status().folders[0]!;
  assert.deepEqual({ state: f.state, progress: f.progress }, { state: 'idle', progress: undefined });
});

test("syncNow with rescan 'all' scans the whole folder: a file the watcher has not reported yet is synced by that pass", async (t) => {
  const dir = await tempRoot(t, 'rescan-all');
  const root = join(dir, 'root');
  await mkdir(root);
  const store = new MemoryStore();
  await initStore(store);
  // The watcher reports a path once it has been quiet a minute: only a full scan finds a new file sooner.
  const agent = await Agent.start({ stateDir: join(dir, 'state'), folders: [{ root, layer: LAYER }], openStore: () => store, pollMs: 3_600_000, debounceMs: 60_000 });
  t.after(() => agent.stop());
  await agent.passesDone(1);
  await writeFile(join(root, 'saved-just-now.txt'), 'not reported yet');
  const plain = agent.passesDone(1);
  agent.syncNow();
  await plain;
  assert.equal(agent.status().folders[0]!.files, 0, 'a pass of what the watcher reported does not see it');
  const full = agent.passesDone(1);
  await agent.call('syncNow', { rescan: 'all' });
  await full;
  assert.equal(agent.status().folders[0]!.files, 1);
  await assert.rejects(agent.call('syncNow', { rescan: 'some' } as never), (err) => isStrataError(err, 'E_USAGE'));
});
