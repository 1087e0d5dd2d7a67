// Conflicts the user resolved (keep the name or the copy: the other version is deleted) are the
// user's decision, not part of a mass delete: within the hour, a held mass delete restored brings
// back what the mass delete removed, never the copies resolved before it, on the machine that
// resolved them (local deletes) or on another one (remote deletes).
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { count, heldCounts, listing, setup, waitFor, type Machine } from './live-testkit.js';

const copyOf = (i: number): string => `notes${i}.sync-conflict-20261201-101500-laptop.txt`;

/**
 * b syncs 16 files and 4 conflicts (24 files) to a, resolves the conflicts (2 keeping the name, 2
 * the copy), then deletes 12 files: held on b. Returns what both should hold once restored.
 */
async function resolvedThenHeld(t: TestContext): Promise<{ a: Machine; b: Machine; restored: Record<string, string> }> {
  const { a, b } = await setup(t, { watch: false });
  for (let i = 0; i < 16; i++) await writeFile(join(b.root, `f${i}.txt`), `file ${i}`);
  for (let i = 0; i < 4; i++) {
    await writeFile(join(b.root, `notes${i}.txt`), `notes ${i}`);
    await writeFile(join(b.root, copyOf(i)), `other notes ${i}`);
  }
  await waitFor('files on a', count(a, 24));
  assert.equal(b.agent.status().folders[0]!.conflicts.length, 4);
  for (let i = 0; i < 4; i++) await b.agent.call('resolveConflict', { root: b.root, copy: copyOf(i), keep: i < 2 ? 'name' : 'copy' });
  await waitFor('the resolutions on a', count(a, 20));
  const restored = await listing(b);
  await b.agent.call('pause', {});
  for (let i = 0; i < 12; i++) await rm(join(b.root, `f${i}.txt`));
  await b.agent.call('resume', {});
  await waitFor('b holding its deletes', () => b.agent.status().folders[0]!.pendingDeletes !== undefined);
  assert.deepEqual(heldCounts(b), { direction: 'local', files: 12, of: 20 }, 'the resolutions are not counted');
  return { a, b, restored };
}

test('a mass delete restored on the machine that made it brings back its files, not the conflict copies resolved before it', async (t) => {
  const { a, b, restored } = await resolvedThenHeld(t);
  await b.agent.call('restoreDeletes', { root: b.root });
  await waitFor('the files back on b, and its hold gone', async () => isDeepStrictEqual(await listing(b), restored) && b.agent.status().folders[0]!.pendingDeletes === undefined);
  await waitFor('a as b', async () => isDeepStrictEqual(await listing(a), restored));
  assert.deepEqual(b.agent.status().folders[0]!.conflicts, [], 'no conflict listed again');
});

test("a mass delete from another machine restored here brings back its files, not the conflict copies that machine resolved", async (t) => {
  const { a, b, restored } = await resolvedThenHeld(t);
  await b.agent.call('confirmDeletes', { root: b.root });
  await waitFor('a holding the deletes', () => a.agent.status().folders[0]!.pendingDeletes !== undefined);
  assert.deepEqual(heldCounts(a), { direction: 'remote', files: 12, of: 20 });
  await a.agent.call('restoreDeletes', { root: a.root });
  await waitFor('a synced, its hold gone', () => a.agent.status().folders[0]!.pendingDeletes === undefined && a.agent.status().folders[0]!.state === 'idle');
  assert.deepEqual(await listing(a), restored);
  await waitFor('the files back on b', async () => isDeepStrictEqual(await listing(b), restored));
  assert.deepEqual(a.agent.status().folders[0]!.conflicts, [], 'no conflict listed again');
});
