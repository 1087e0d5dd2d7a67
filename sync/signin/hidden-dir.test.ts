// Signing in again after another machine deleted an org folder (a whiteout on a dir in the user
// layer): what this machine got from the layers there is simply removed, as a deleted file is; only
// what the user made or changed there is kept, as a conflict copy.
import assert from 'node:assert/strict';
import { readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { parseOrgConfig, type OrgConfig } from '../../shared/org-config.js';
import { syncOnce } from '../agent/index.js';
import { writeTree } from '../cli/testkit.js';
import { publishOrgLayer, writeProfile } from '../profile/index.js';
import { openRepository } from '../repo/index.js';
import { openAgentState } from '../state/index.js';
import type { MemoryStore } from '../store/memory.js';
import { sessionFolder } from './folder.js';
import { layHome } from './lay.js';
import { readSession, writeSession, type Session } from './session.js';
import { latestTree, listing, memoryBucket } from './testkit.js';

/** A machine where alice signed in under `org` (its session written), with its lay and one sync pass. */
async function signedInMachine(dir: string, store: MemoryStore, org: OrgConfig, name: string) {
  const home = join(dir, name, 'home');
  const stateDir = join(dir, name, 'state');
  const { deviceId } = await openAgentState(stateDir);
  await writeSession(stateDir, { version: 1, source: 'test', org, user: 'alice', home, mode: org.mode, device: deviceId, signedIn: new Date().toISOString() } satisfies Session);
  const lay = async () => layHome({ store, session: await readSession(stateDir), stateDir });
  const pass = async () => {
    const r = await syncOnce({ stateDir, repo: await openRepository(store), folder: sessionFolder(await readSession(stateDir), stateDir) });
    assert.equal(r.status, 'synced');
  };
  return { home, lay, pass };
}

/** Machines A and B signed in; B synced and signed out (its copy stays: a persistent PC); on A the user deleted the org's Forms folder. */
async function formsDeletedElsewhere(t: TestContext) {
  const { dir, store, repo } = await memoryBucket(t, 'hidden-dir');
  await writeTree(join(dir, 'org'), { Documents: { 'keep.txt': 'keep', Forms: { 'a.txt': 'form a', 'b.txt': 'form b', Sub: { 'c.txt': 'form c' } } } });
  await publishOrgLayer(repo, 'org/dept', { from: join(dir, 'org') });
  await writeProfile(store, { version: 1, user: 'alice', displayName: '', layers: ['org/dept'], updated: new Date().toISOString() });
  const org = parseOrgConfig({ version: 1, org: 'acme', store: { bucket: 'acme-strata' }, policies: { firstContact: 'keep-both' }, folders: ['Documents'] }, 'test');
  const machine = (name: string) => signedInMachine(dir, store, org, name);
  const a = await machine('a');
  const b = await machine('b');
  await a.lay();
  await b.lay();
  await b.pass();
  await rm(join(a.home, 'Documents/Forms'), { recursive: true });
  await a.pass();
  assert.equal((await latestTree(await openRepository(store), 'user/alice')).get('Documents/Forms')?.type, 'whiteout');
  return b;
}

describe('signing in again after another machine deleted an org folder (keep-both)', () => {
  it('the folder goes, without a conflict copy, when it holds only what the layers gave it', async (t) => {
    const b = await formsDeletedElsewhere(t);
    const r = await b.lay();
    assert.deepEqual(Object.keys(await listing(b.home)).sort(), ['Documents/', 'Documents/keep.txt']);
    assert.deepEqual(r.conflicts, []);
  });

  it("the user's own files in it are kept aside, and only those", async (t) => {
    const b = await formsDeletedElsewhere(t);
    await writeFile(join(b.home, 'Documents/Forms/mine.txt'), 'made on b');
    await writeFile(join(b.home, 'Documents/Forms/Sub/c.txt'), 'form c, edited on b');
    const r = await b.lay();
    const disk = Object.keys(await listing(b.home)).sort();
    assert.ok(!disk.includes('Documents/Forms/'), `the deleted folder is gone: ${disk.join(', ')}`);
    const kept = disk.filter((p) => p.includes('.sync-conflict-') && !p.endsWith('/'));
    assert.deepEqual(kept.map((p) => p.replace(/\.sync-conflict-[^/]*/, '')), ['Documents/Forms/Sub/c.txt', 'Documents/Forms/mine.txt'], disk.join(', '));
    assert.deepEqual(r.conflicts.map((c) => c.path), ['Documents/Forms']);
    assert.ok(r.removed.includes('Documents/Forms/a.txt') && r.removed.includes('Documents/Forms/b.txt'), r.removed.join(', '));
  });
});

describe('signing in again after another machine replaced a folder with a file (keep-both)', () => {
  it('the folder goes when it holds only what the layers gave it; the new file is laid, no copy', async (t) => {
    const { dir, store } = await memoryBucket(t, 'replaced-dir');
    const org = parseOrgConfig({ version: 1, org: 'acme', store: { bucket: 'acme-strata' }, policies: { firstContact: 'keep-both' }, folders: ['Documents'] }, 'test');
    const machine = (name: string) => signedInMachine(dir, store, org, name);
    const a = await machine('a');
    await writeTree(a.home, { Documents: { Notes: { 'a.txt': 'note a', 'b.txt': 'note b' } } });
    await a.lay();
    await a.pass();
    const b = await machine('b');
    await b.lay();
    await b.pass();
    await rm(join(a.home, 'Documents/Notes'), { recursive: true });
    await writeFile(join(a.home, 'Documents/Notes'), 'one file now');
    await a.pass();

    const r = await b.lay();
    assert.deepEqual(Object.keys(await listing(b.home)).sort(), ['Documents/', 'Documents/Notes']);
    assert.deepEqual(r.conflicts, []);
  });
});

describe('signing in again after another machine changed, then deleted a symlink', () => {
  for (const policy of ['keep-both', 'layer-wins'] as const) {
    it(`${policy}: the link this machine synced follows, as a file would`, async (t) => {
      const { dir, store } = await memoryBucket(t, 'deleted-link');
      const org = parseOrgConfig({ version: 1, org: 'acme', store: { bucket: 'acme-strata' }, policies: { firstContact: policy }, folders: ['Documents'] }, 'test');
      const machine = (name: string) => signedInMachine(dir, store, org, name);
      const a = await machine('a');
      await writeTree(a.home, { Documents: { 'plan.txt': 'plan' } });
      await symlink('plan.txt', join(a.home, 'Documents/latest'));
      await a.lay();
      await a.pass();
      const b = await machine('b');
      await b.lay();
      await b.pass();
      assert.equal(await readlink(join(b.home, 'Documents/latest')), 'plan.txt');
      // First the link is pointed elsewhere: the old target is no local edit of B's.
      await rm(join(a.home, 'Documents/latest'));
      await symlink('other.txt', join(a.home, 'Documents/latest'));
      await a.pass();
      const moved = await b.lay();
      assert.equal(await readlink(join(b.home, 'Documents/latest')), 'other.txt');
      assert.deepEqual(moved.conflicts, []);
      await b.pass();
      // Then it is deleted.
      await rm(join(a.home, 'Documents/latest'));
      await a.pass();
      const r = await b.lay();
      assert.deepEqual(Object.keys(await listing(b.home)).sort(), ['Documents/', 'Documents/plan.txt']);
      assert.deepEqual(r.conflicts, []);
    });
  }
});

describe('signing in again after a new org version turned a file or link into a folder (keep-both)', () => {
  it('the file and the link this machine laid go without a conflict copy; the folders are laid', async (t) => {
    const { dir, store, repo } = await memoryBucket(t, 'file-to-dir');
    await writeTree(join(dir, 'v1'), { Documents: { Forms: 'one file' } });
    await symlink('Forms', join(dir, 'v1/Documents/Latest'));
    await publishOrgLayer(repo, 'org/dept', { from: join(dir, 'v1') });
    await writeProfile(store, { version: 1, user: 'alice', displayName: '', layers: ['org/dept'], updated: new Date().toISOString() });
    const org = parseOrgConfig({ version: 1, org: 'acme', store: { bucket: 'acme-strata' }, policies: { firstContact: 'keep-both' }, folders: ['Documents'] }, 'test');
    const a = await signedInMachine(dir, store, org, 'a');
    await a.lay();
    await a.pass();
    await writeTree(join(dir, 'v2'), { Documents: { Forms: { 'a.txt': 'form a' }, Latest: { 'b.txt': 'form b' } } });
    await publishOrgLayer(repo, 'org/dept', { from: join(dir, 'v2') });

    const r = await a.lay();
    assert.deepEqual(r.conflicts, []);
    assert.deepEqual(Object.keys(await listing(a.home)).sort(), ['Documents/', 'Documents/Forms/', 'Documents/Forms/a.txt', 'Documents/Latest/', 'Documents/Latest/b.txt']);
  });
});
