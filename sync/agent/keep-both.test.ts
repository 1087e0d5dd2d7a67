// Keeping both versions of a conflict (keep "both"): the copy's new name, and the agent renaming it
// beside the file, over nothing, with the checks every resolve makes.
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { mkdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { isStrataError } from '../errors.js';
import { NAME_MAX_BYTES } from '../plan/conflict-name.js';
import { listConflicts } from './conflicts.js';
import { keptName, stampWords } from './keep-both.js';
import { listDir } from './testkit.js';
import { setup, waitFor, type Machine } from './live-testkit.js';

const COPY = 'notes.sync-conflict-20261201-101500-laptop.txt';

function withTz<T>(tz: string, run: () => T): T {
  const was = process.env.TZ;
  process.env.TZ = tz;
  try {
    return run();
  } finally {
    if (was === undefined) delete process.env.TZ;
    else process.env.TZ = was;
  }
}

test('the kept name says the device and the time (local, to the minute) of the copy, with a counter inside the parentheses', () => {
  assert.equal(withTz('UTC', () => stampWords('20261201-101500')), '2026-12-01 10.15');
  assert.equal(withTz('Asia/Kolkata', () => stampWords('20261231-200000')), '2027-01-01 01.30');
  assert.equal(stampWords('2026120-101500'), undefined);
  const [c] = listConflicts([COPY]);
  withTz('UTC', () => {
    assert.equal(keptName(c!), 'notes (laptop 2026-12-01 10.15).txt');
    assert.equal(keptName(c!, 3), 'notes (laptop 2026-12-01 10.15 3).txt');
    const [dot] = listConflicts(['.bashrc.sync-conflict-20261201-101500-pc-2']);
    assert.equal(keptName(dot!), '.bashrc (pc 2026-12-01 10.15)');
    // A stem that holds a marker of its own: the copy's stamp is the last one.
    const [odd] = listConflicts(['a.sync-conflict-20200101-000000-x.sync-conflict-20261201-101500-pc.txt']);
    assert.equal(keptName(odd!), 'a.sync-conflict-20200101-000000-x (pc 2026-12-01 10.15).txt');
    assert.equal(listConflicts([keptName(odd!)]).length, 0, 'the kept name is no conflict copy');
  });
  const long = `${'é'.repeat(120)}.txt`;
  const name = keptName({ path: `docs/${long}`, copy: `docs/${long.slice(0, 60)}.sync-conflict-20261201-101500-laptop.txt`, device: 'laptop' }, 12);
  assert.ok(Buffer.byteLength(name) <= NAME_MAX_BYTES, name);
  assert.match(name, / \(laptop \d{4}-\d\d-\d\d \d\d\.\d\d 12\)\.txt$/);
});

/** One machine (of two sharing a bucket) that lists a conflict of notes.txt in docs/, with `extra` files beside it. */
async function conflicted(t: TestContext, extra: Record<string, string> = {}): Promise<{ a: Machine; b: Machine; kept: string }> {
  const { a, b } = await setup(t, { watch: false });
  await mkdir(join(a.root, 'docs'));
  for (const [name, text] of Object.entries({ 'notes.txt': 'mine', [COPY]: 'theirs', ...extra })) await writeFile(join(a.root, 'docs', name), text);
  await a.agent.call('syncNow', {});
  await waitFor('a lists the conflict', () => a.agent.status().folders[0]!.conflicts.some((c) => c.copy === `docs/${COPY}`));
  return { a, b, kept: keptName(a.agent.status().folders[0]!.conflicts[0]!) };
}

test('keep both: the copy takes an ordinary name beside the file, the conflict leaves the list, and the other machine follows', async (t) => {
  const { a, b, kept } = await conflicted(t);
  const after = await a.agent.call('resolveConflict', { root: a.root, copy: `docs/${COPY}`, keep: 'both' });
  assert.deepEqual(after.folders[0]!.conflicts, []);
  assert.equal(after.besideAs, `docs/${kept}`, 'the answer says where the copy went');
  const want = { 'docs/': '', 'docs/notes.txt': 'mine', [`docs/${kept}`]: 'theirs' };
  assert.deepEqual(await listDir(a.root), want);
  await waitFor('b follows', async () => isDeepStrictEqual(await listDir(b.root).catch(() => undefined), want));
  await waitFor('a synced it', () => a.agent.status().folders[0]!.state === 'idle' && a.agent.status().folders[0]!.files === 2);
  assert.deepEqual(a.agent.status().folders[0]!.conflicts, [], 'no pass lists it again');
});

test('keep both takes the next free name: never one taken, in any case', async (t) => {
  const first = keptName({ path: 'docs/notes.txt', copy: `docs/${COPY}`, device: 'laptop' });
  const second = keptName({ path: 'docs/notes.txt', copy: `docs/${COPY}`, device: 'laptop' }, 2);
  const { a } = await conflicted(t, { [first.toUpperCase()]: 'shouting', [second]: 'second' });
  await a.agent.call('resolveConflict', { root: a.root, copy: `docs/${COPY}`, keep: 'both' });
  const third = keptName({ path: 'docs/notes.txt', copy: `docs/${COPY}`, device: 'laptop' }, 3);
  assert.deepEqual(await listDir(a.root), { 'docs/': '', 'docs/notes.txt': 'mine', [`docs/${first.toUpperCase()}`]: 'shouting', [`docs/${second}`]: 'second', [`docs/${third}`]: 'theirs' });
});

test('keep both of a version gone from the disk since the scan changes nothing and says which (E_VERSION_GONE)', async (t) => {
  const { a } = await conflicted(t);
  await a.agent.call('pause', {});
  await rename(join(a.root, 'docs', 'notes.txt'), join(a.root, 'notes-away.txt'));
  await assert.rejects(a.agent.call('resolveConflict', { root: a.root, copy: `docs/${COPY}`, keep: 'both' }), (err) => isStrataError(err, 'E_VERSION_GONE') && /^the file is no longer on the disk/.test(err.message) && err.path === 'docs/notes.txt');
  assert.deepEqual(await listDir(a.root), { 'docs/': '', [`docs/${COPY}`]: 'theirs', 'notes-away.txt': 'mine' });
  await rename(join(a.root, 'notes-away.txt'), join(a.root, 'docs', 'notes.txt'));
  await rm(join(a.root, 'docs', COPY));
  await assert.rejects(a.agent.call('resolveConflict', { root: a.root, copy: `docs/${COPY}`, keep: 'both' }), (err) => isStrataError(err, 'E_VERSION_GONE') && /^the conflict copy is no longer on the disk/.test(err.message));
  assert.deepEqual(a.agent.status().folders[0]!.conflicts, [], 'a copy gone leaves the list');
  assert.deepEqual(await listDir(a.root), { 'docs/': '', 'docs/notes.txt': 'mine' });
});

test('keep both of a link keeps it a link, renamed', async (t) => {
  const { a } = await setup(t, { watch: false });
  await writeFile(join(a.root, 'notes.txt'), 'mine');
  await symlink('notes.txt', join(a.root, COPY));
  await a.agent.call('syncNow', {});
  await waitFor('a lists the conflict', () => a.agent.status().folders[0]!.conflicts.length === 1);
  const kept = keptName(a.agent.status().folders[0]!.conflicts[0]!);
  await a.agent.call('resolveConflict', { root: a.root, copy: COPY, keep: 'both' });
  assert.equal(await readlink(join(a.root, kept)), 'notes.txt');
});

/** One machine that lists a conflict for each of `copies` (in docs/, with the files they copy). */
async function many(t: TestContext, files: Record<string, string>): Promise<Machine> {
  const { a } = await setup(t, { watch: false });
  await mkdir(join(a.root, 'docs'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(a.root, 'docs', name), text);
  await a.agent.call('syncNow', {});
  const copies = Object.keys(files).filter((n) => n.includes('.sync-conflict-')).length;
  await waitFor(`a lists ${copies} conflicts`, () => a.agent.status().folders[0]!.conflicts.length === copies && a.agent.status().folders[0]!.state === 'idle');
  return a;
}

test('resolveConflicts ends every conflict of a folder the same way, says each one it could not end, and pushes one status', async (t) => {
  const twice = ['r.sync-conflict-20261201-101500-laptop.txt', 'r.sync-conflict-20261201-101600-pc.txt'];
  const a = await many(t, { 'notes.txt': 'mine', [COPY]: 'theirs', 'r.txt': 'r', [twice[0]!]: 'r1', [twice[1]!]: 'r2', 'gone.sync-conflict-20261201-101500-laptop.txt': 'g' });
  await a.agent.call('pause', {});
  await rm(join(a.root, 'docs', 'gone.sync-conflict-20261201-101500-laptop.txt'));
  const pushed: unknown[] = [];
  a.agent.subscribe((e) => pushed.push(e));
  const copy = await a.agent.call('resolveConflicts', { root: a.root, keep: 'copy' });
  // Keeping the copy of r.txt, with two copies, would put one over the other: both are left.
  assert.deepEqual(copy.resolved, [{ path: 'docs/notes.txt', copy: `docs/${COPY}` }]);
  assert.deepEqual(
    copy.failed.map((f) => [f.copy, f.error.code]),
    [
      ['docs/gone.sync-conflict-20261201-101500-laptop.txt', 'E_VERSION_GONE'],
      [`docs/${twice[0]}`, 'E_USAGE'],
      [`docs/${twice[1]}`, 'E_USAGE'],
    ],
  );
  assert.match(copy.failed[1]!.error.message, /^2 conflict copies of docs\/r\.txt are among these/);
  assert.equal(pushed.length, 1, 'one status for the whole command');
  assert.deepEqual(copy.status.folders[0]!.conflicts.map((c) => c.copy), twice.map((c) => `docs/${c}`));
  const both = await a.agent.call('resolveConflicts', { root: a.root, keep: 'both', copies: [`docs/${twice[1]}`, 'docs/nope.txt'] });
  const kept = keptName(listConflicts([`docs/${twice[1]}`])[0]!);
  assert.deepEqual(both.resolved, [{ path: 'docs/r.txt', copy: `docs/${twice[1]}`, besideAs: `docs/${kept}` }]);
  assert.deepEqual(both.failed.map((f) => [f.copy, f.error.code]), [['docs/nope.txt', 'E_NO_CONFLICT']]);
  const name = await a.agent.call('resolveConflicts', { root: a.root, keep: 'name' });
  assert.deepEqual([name.resolved.length, name.failed, name.status.folders[0]!.conflicts], [1, [], []]);
  assert.deepEqual(await listDir(a.root), { 'docs/': '', 'docs/notes.txt': 'theirs', 'docs/r.txt': 'r', [`docs/${kept}`]: 'r2' });
  await assert.rejects(a.agent.call('resolveConflicts', { root: a.root, keep: 'all' }), /keep must be "name", "copy" or "both"/);
});
