// Signing in again on a machine after an org layer dropped files (first-contact.ts, `retired`):
// what the last lay put there and nobody changed goes, as the overlay no longer has it; what the
// user changed or made stays. Under both first-contact policies.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { parseOrgConfig, type FirstContactPolicy } from '../../shared/org-config.js';
import { writeTree } from '../cli/testkit.js';
import { publishOrgLayer, writeProfile } from '../profile/index.js';
import { layHome } from './lay.js';
import { readSession, writeSession, type Session } from './session.js';
import { listing, memoryBucket } from './testkit.js';

async function signedIn(t: TestContext, policy: FirstContactPolicy, layers = ['org/dept']) {
  const { dir, store, repo } = await memoryBucket(t, 'retired');
  const publish = async (name: string, spec: Parameters<typeof writeTree>[1], layer = 'org/dept') => {
    await writeTree(join(dir, name), spec);
    await publishOrgLayer(repo, layer, { from: join(dir, name) });
  };
  await writeProfile(store, { version: 1, user: 'alice', displayName: '', layers, updated: new Date().toISOString() });
  const home = join(dir, 'home');
  const stateDir = join(dir, 'state');
  const org = parseOrgConfig({ version: 1, org: 'acme', store: { bucket: 'acme-strata' }, policies: { firstContact: policy }, folders: ['Documents'] }, 'test');
  await writeSession(stateDir, { version: 1, source: 'test', org, user: 'alice', home, mode: org.mode, device: 'pc1', signedIn: new Date().toISOString() } satisfies Session);
  const lay = async () => layHome({ store, session: await readSession(stateDir), stateDir });
  return { home, publish, lay };
}

describe('signing in again after an org layer dropped files', () => {
  for (const policy of ['layer-wins', 'keep-both'] as const) {
    it(`${policy}: the files it laid and nobody changed go, the user's stay`, async (t) => {
      const { home, publish, lay } = await signedIn(t, policy);
      await publish('v1', { Documents: { 'keep.txt': 'keep', 'drop.txt': 'drop', 'edited.txt': 'org text', OldForms: { 'form.txt': 'form' }, Mixed: { 'old.txt': 'old' } } });
      await lay();
      // Local changes a sync never saw: an edit of an org file, and new files of the user's.
      await writeFile(join(home, 'Documents/edited.txt'), 'the user wrote this');
      await writeFile(join(home, 'Documents/Mixed/mine.txt'), 'mine');
      await writeFile(join(home, 'Documents/new.txt'), 'new');
      await publish('v2', { Documents: { 'keep.txt': 'keep v2' } });

      const r = await lay();
      const disk = await listing(home);
      assert.deepEqual(Object.keys(disk).sort(), [
        'Documents/',
        'Documents/Mixed/',
        'Documents/Mixed/mine.txt',
        'Documents/edited.txt',
        'Documents/keep.txt',
        'Documents/new.txt',
      ]);
      assert.deepEqual(r.removed.sort(), ['Documents/Mixed/old.txt', 'Documents/OldForms', 'Documents/OldForms/form.txt', 'Documents/drop.txt']);
      assert.deepEqual(r.conflicts, []);
    });
  }
});

describe('signing in again after two org layers dropped a path, a folder in the lower one and a file in the higher', () => {
  for (const policy of ['layer-wins', 'keep-both'] as const) {
    it(`${policy}: the file laid there goes`, async (t) => {
      const { home, publish, lay } = await signedIn(t, policy, ['org/low', 'org/high']);
      await publish('low-v1', { Documents: { Forms: { 'a.txt': 'form a' }, 'low.txt': 'low' } }, 'org/low');
      await publish('high-v1', { Documents: { Forms: 'the file over the folder' } }, 'org/high');
      await lay();
      assert.deepEqual(Object.keys(await listing(home)).sort(), ['Documents/', 'Documents/Forms', 'Documents/low.txt']);
      await publish('low-v2', { Documents: { 'low.txt': 'low' } }, 'org/low');
      await publish('high-v2', { Documents: {} }, 'org/high');

      const r = await lay();
      assert.deepEqual(Object.keys(await listing(home)).sort(), ['Documents/', 'Documents/low.txt']);
      assert.deepEqual(r.removed, ['Documents/Forms']);
      assert.deepEqual(r.conflicts, []);
    });
  }
});
