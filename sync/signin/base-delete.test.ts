// A file of the machine's own image (the base layer, DESIGN §1) that the user deletes: "deleting a
// base or org file records a whiteout in the user layer … and the next session on a reset VDI
// machine hides it again". The first pass adopts the image's files into the user layer (DESIGN
// §4); the sign-in records which paths the image had (base.ts), and a pass that finds one gone
// writes a whiteout, so the next reset machine's first contact removes the image's copy instead of
// adopting it back. On a persistent PC nothing is reset, and a delete is a plain delete.
import assert from 'node:assert/strict';
import { access, mkdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { failListing } from '../testing/fail-listing.js';
import { join, sep } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { parseOrgConfig, type OrgConfig } from '../../shared/org-config.js';
import { folderFiles, folderStateDir, readBase, syncOnce } from '../agent/index.js';
import { writeTree } from '../cli/testkit.js';
import { preloadUserLayer, publishOrgLayer, writeProfile } from '../profile/index.js';
import { openRepository } from '../repo/index.js';
import { keys } from '../repo/types.js';
import { openAgentState } from '../state/index.js';
import type { ObjectStore } from '../store/index.js';
import { markHeadFinal } from './device-head.js';
import { sessionFolder } from './folder.js';
import { layHome, type LayOptions } from './lay.js';
import { deleteSession, readSession, writeSession, type LaidLayer, type Session } from './session.js';
import { bootNow, latestTree, listing, memoryBucket } from './testkit.js';

const GOLDEN = {
  Documents: { 'image.txt': 'from the golden image', 'other.txt': 'also from the image', Templates: { 'a.dotx': 'A', 'b.dotx': 'B' } },
  '.config': { app: { 'settings.ini': 'image settings' } },
};

/** A machine freshly reset to the golden image that signs the user in; `pass` is one sync pass. */
function machines(t: TestContext, dir: string, store: ObjectStore, org: OrgConfig, image: Parameters<typeof writeTree>[1] = GOLDEN, lay: Partial<LayOptions> = {}) {
  return async (name: string, reset: Parameters<typeof writeTree>[1] = image) => {
    const home = join(dir, name, 'home');
    const stateDir = join(dir, name, 'state');
    await writeTree(home, reset);
    const bootTime = await bootNow(join(dir, name));
    const { deviceId } = await openAgentState(stateDir);
    await writeSession(stateDir, { version: 1, source: 'test', org, user: 'alice', home, mode: org.mode, device: deviceId, signedIn: new Date().toISOString() } satisfies Session);
    const laid = await layHome({ store, session: await readSession(stateDir), stateDir, bootTime, ...lay });
    const session = await readSession(stateDir);
    /** One sync pass, with a held mass delete's answer if any. */
    const run = async (deletes?: 'confirm' | 'restore') => syncOnce({ stateDir, repo: await openRepository(store), folder: sessionFolder(await readSession(stateDir), stateDir), ...(deletes ? { deletes } : {}) });
    const pass = async () => {
      const r = await run();
      assert.equal(r.status, 'synced');
    };
    const baseFile = folderFiles(folderStateDir(stateDir, sessionFolder(session, stateDir))).baseFile;
    return { home, stateDir, pass, run, baseFile, warnings: laid.warnings };
  };
}

/**
 * A bucket whose user has the org layer org/dept assigned, its first version holding the image's
 * Documents/image.txt too, and VDI machines reset to the golden image; `publish` adds a version.
 */
async function withOrgDept(t: TestContext, name: string) {
  const { dir, store, repo } = await memoryBucket(t, name);
  const publish = async (version: string, spec: Parameters<typeof writeTree>[1]) => {
    await writeTree(join(dir, version), spec);
    const v = await publishOrgLayer(repo, 'org/dept', { from: join(dir, version) });
    return { layer: 'org/dept', snapshot: v.snapshotId, root: v.snapshot.root };
  };
  await writeProfile(store, { version: 1, user: 'alice', displayName: '', layers: ['org/dept'], updated: new Date().toISOString() });
  await publish('v1', { Documents: { 'image.txt': 'the org\'s version', 'org.txt': 'org' } });
  const org = parseOrgConfig({ version: 1, org: 'acme', mode: 'vdi', store: { bucket: 'acme-strata' }, folders: ['Documents'] }, 'test');
  return { store, publish, machine: machines(t, dir, store, org) };
}

/** What the agent does when the org publishes (refresh.ts): the switch recorded, a pass makes it, the record goes, a pass. */
async function switchOrg(m: { stateDir: string; pass: () => Promise<void> }, to: LaidLayer): Promise<void> {
  const session = await readSession(m.stateDir);
  await writeSession(m.stateDir, { ...session, laid: { ...session.laid!, org: [to], orgBefore: session.laid!.org } });
  await m.pass();
  const switched = await readSession(m.stateDir);
  await writeSession(m.stateDir, { ...switched, laid: { ...switched.laid!, orgBefore: undefined } });
  await m.pass();
}

const layer = async (store: ObjectStore) => latestTree(await openRepository(store), 'user/alice');
const kind = (tree: Map<string, { type: string }>, p: string) => tree.get(p)?.type ?? 'none';
const names = async (home: string) => Object.keys(await listing(home)).sort();

describe('VDI: the golden image under the layer', () => {
  const org = parseOrgConfig({ version: 1, org: 'acme', mode: 'vdi', store: { bucket: 'acme-strata' }, folders: ['Documents', '.config'], policies: { exclude: ['*.log'] } }, 'test');

  it('a base file the user deleted stays deleted on the next, reset machine', async (t) => {
    const { dir, store } = await memoryBucket(t, 'base-delete');
    const machine = machines(t, dir, store, org);
    const a = await machine('a');
    await a.pass();
    await unlink(join(a.home, 'Documents/image.txt'));
    await a.pass();
    assert.equal(kind(await layer(store), 'Documents/image.txt'), 'whiteout', 'the delete is a whiteout in the layer');

    const b = await machine('b');
    assert.ok(!(await names(b.home)).includes('Documents/image.txt'), 'the next session hides the deleted file');
    assert.ok((await names(b.home)).includes('Documents/other.txt'), 'and keeps the others');
    await b.pass();
    assert.equal(kind(await layer(store), 'Documents/image.txt'), 'whiteout', 'and the layer keeps it deleted');
  });

  it('an image file or folder the layer already holds, deleted in a later session, is hidden from the one after', async (t) => {
    const { dir, store } = await memoryBucket(t, 'base-delete-known');
    const machine = machines(t, dir, store, org);
    const a = await machine('a');
    await a.pass();
    assert.equal(kind(await layer(store), 'Documents/other.txt'), 'file', 'the first session adopts the image');

    // The next session lays the layer over the same image: the layer knows these paths now.
    const b = await machine('b');
    await b.pass();
    await unlink(join(b.home, 'Documents/other.txt'));
    await rm(join(b.home, 'Documents/Templates'), { recursive: true });
    await b.pass();
    const after = await layer(store);
    assert.equal(kind(after, 'Documents/other.txt'), 'whiteout');
    assert.equal(kind(after, 'Documents/Templates'), 'whiteout', 'a deleted folder is one whiteout');
    assert.equal(kind(after, 'Documents/Templates/a.dotx'), 'none');

    const c = await machine('c');
    const seen = await names(c.home);
    for (const gone of ['Documents/other.txt', 'Documents/Templates/', 'Documents/Templates/a.dotx']) assert.ok(!seen.includes(gone), `${gone} is hidden again`);
    assert.ok(seen.includes('.config/app/settings.ini'));
    await c.pass();
    const whiteouts = [...(await layer(store)).entries()].filter(([, n]) => n.type === 'whiteout').map(([p]) => p);
    assert.deepEqual(whiteouts.sort(), ['Documents/Templates', 'Documents/other.txt'], 'the next session keeps them, and adds none');
  });

  it('a file the user made and deleted, an excluded image file and a restored one write no whiteout', async (t) => {
    const { dir, store } = await memoryBucket(t, 'base-delete-own');
    const machine = machines(t, dir, store, org);
    const a = await machine('a');
    await writeFile(join(a.home, 'Documents/debug.log'), 'excluded, yet in the image');
    await a.pass();
    const base = await readBase(a.baseFile);
    assert.equal(base.paths.get('Documents/image.txt'), 'file');
    assert.equal(base.paths.get('Documents/Templates'), 'dir');
    await writeFile(join(a.home, 'Documents/mine.txt'), 'the user made this');
    await a.pass();
    await unlink(join(a.home, 'Documents/mine.txt'));
    await unlink(join(a.home, 'Documents/debug.log'));
    await a.pass();
    const after = await layer(store);
    assert.equal(kind(after, 'Documents/mine.txt'), 'none', 'the user\'s own file is simply deleted');
    assert.equal(kind(after, 'Documents/debug.log'), 'none', 'an excluded path is never whited out');
    // A deleted image file that comes back is a file again.
    await unlink(join(a.home, 'Documents/image.txt'));
    await a.pass();
    await writeFile(join(a.home, 'Documents/image.txt'), 'written again');
    await a.pass();
    assert.equal(kind(await layer(store), 'Documents/image.txt'), 'file');
    const b = await machine('b');
    assert.equal(await readFile(join(b.home, 'Documents/image.txt'), 'utf8'), 'written again');
  });
});

it('VDI: signing in again on a machine that was not reset keeps its image as the base, not what the last lay left', async (t) => {
  const { dir, store } = await memoryBucket(t, 'base-relay');
  const org = parseOrgConfig({ version: 1, org: 'acme', mode: 'vdi', store: { bucket: 'acme-strata' }, folders: ['Documents', '.config'] }, 'test');
  const a = await machines(t, dir, store, org)('a');
  await writeFile(join(a.home, 'Documents/mine.txt'), 'the user made this');
  await a.pass();
  // The same machine and state dir, not reset: the user signs in again.
  await layHome({ store, session: await readSession(a.stateDir), stateDir: a.stateDir });
  const base = await readBase(a.baseFile);
  assert.equal(base.paths.get('Documents/image.txt'), 'file');
  assert.equal(base.paths.has('Documents/mine.txt'), false, 'a file of the layer is not the image');
  await unlink(join(a.home, 'Documents/mine.txt'));
  await a.pass();
  assert.equal(kind(await layer(store), 'Documents/mine.txt'), 'none', 'its delete is a plain one');
});

it('VDI: signing in again over a damaged record of the image does not take the files the last lay left for the image\'s, and says so', async (t) => {
  const { dir, store } = await memoryBucket(t, 'base-relay-damaged');
  const org = parseOrgConfig({ version: 1, org: 'acme', mode: 'vdi', store: { bucket: 'acme-strata' }, folders: ['Documents', '.config'] }, 'test');
  const a = await machines(t, dir, store, org)('a');
  await writeFile(join(a.home, 'Documents/mine.txt'), 'the user made this');
  await a.pass();
  await writeFile(a.baseFile, '{"version":1,"paths":[["Documents/ima');
  // The same machine and state dir, not reset: the user signs in again.
  const again = await layHome({ store, session: await readSession(a.stateDir), stateDir: a.stateDir });
  const base = await readBase(a.baseFile);
  assert.equal(base.paths.has('Documents/mine.txt'), false, 'a file of the layer is not the image');
  assert.equal(base.paths.has('Documents/image.txt'), false, 'nor is any other: the record that said which were is gone');
  assert.deepEqual(again.warnings.map((w) => w.includes(a.baseFile) && /damaged/.test(w)), [true], 'the damage is told, naming the record');
  await unlink(join(a.home, 'Documents/mine.txt'));
  await a.pass();
  assert.equal(kind(await layer(store), 'Documents/mine.txt'), 'none', 'its delete is a plain one');
});

it('persistent PC: a delete of a file the machine had is a plain delete, and no base is kept', async (t) => {
  const { dir, store } = await memoryBucket(t, 'base-delete-persistent');
  const org = parseOrgConfig({ version: 1, org: 'acme', mode: 'persistent', store: { bucket: 'acme-strata' }, folders: ['Documents', '.config'] }, 'test');
  const a = await machines(t, dir, store, org)('a');
  await assert.rejects(access(a.baseFile), { code: 'ENOENT' });
  await a.pass();
  await unlink(join(a.home, 'Documents/image.txt'));
  await a.pass();
  assert.equal(kind(await layer(store), 'Documents/image.txt'), 'none');
});

/** A VDI machine `a` reset to the golden image, then a PC `b` with an empty Documents, each after one pass; `vdi` makes more reset machines. */
async function vdiThenPc(t: TestContext, name: string) {
  const { dir, store } = await memoryBucket(t, name);
  const org = parseOrgConfig({ version: 1, org: 'acme', mode: 'vdi', store: { bucket: 'acme-strata' }, folders: ['Documents'] }, 'test');
  const vdi = machines(t, dir, store, org);
  const a = await vdi('a');
  await a.pass();
  const b = await machines(t, dir, store, parseOrgConfig({ ...org, mode: 'persistent' }, 'test'), { Documents: {} })('b');
  await b.pass();
  return { dir, org, store, a, b, vdi };
}

/** The heads of the user layer, as one string: unchanged means no device wrote a snapshot. */
const heads = async (store: ObjectStore) => JSON.stringify((await (await openRepository(store)).listHeads('user/alice')).heads.map((h) => [h.device, h.snapshot]));

it('a whiteout a VDI machine wrote for its image stays, and no device writes again, once a PC without org layers syncs the layer', async (t) => {
  const { store, a, b } = await vdiThenPc(t, 'base-delete-pc');
  await unlink(join(a.home, 'Documents/image.txt'));
  await a.pass();
  for (let i = 0; i < 2; i++) {
    await b.pass();
    await a.pass();
  }
  const settled = await heads(store);
  await b.pass();
  await a.pass();
  assert.equal(await heads(store), settled, 'the devices agree: no more snapshots');
  assert.equal(kind(await layer(store), 'Documents/image.txt'), 'whiteout', 'the PC kept the whiteout');
  assert.ok(!(await names(b.home)).includes('Documents/image.txt'));
});

it('without org layers, a folder that cannot be listed, holding a whited-out image file, is left alone and the pass goes on', async (t) => {
  const { dir, store } = await memoryBucket(t, 'base-delete-unlisted');
  const org = parseOrgConfig({ version: 1, org: 'acme', mode: 'vdi', store: { bucket: 'acme-strata' }, folders: ['Documents'] }, 'test');
  const a = await machines(t, dir, store, org)('a');
  await a.pass();
  await unlink(join(a.home, 'Documents/Templates/a.dotx'));
  await a.pass();
  await writeFile(join(a.home, 'Documents/new.txt'), 'new');
  const heal = failListing(`${sep}Templates`);
  try {
    const r = await a.run();
    assert.equal(r.status, 'synced');
    assert.equal(r.scan.skipped.get('Documents/Templates'), 'cannot be read (EIO)');
  } finally {
    heal();
  }
  const after = await layer(store);
  assert.equal(kind(after, 'Documents/Templates/a.dotx'), 'whiteout');
  assert.equal(kind(after, 'Documents/Templates/b.dotx'), 'file');
  assert.equal(kind(after, 'Documents/new.txt'), 'file');
});

it('without org layers, an image file another machine deleted while a folder here could not be listed goes once it can be', async (t) => {
  const { dir, store } = await memoryBucket(t, 'base-delete-lag');
  const org = parseOrgConfig({ version: 1, org: 'acme', mode: 'vdi', store: { bucket: 'acme-strata' }, folders: ['Documents'] }, 'test');
  const machine = machines(t, dir, store, org);
  const a = await machine('a');
  await a.pass();
  const b = await machine('b');
  await b.pass();
  await a.pass();
  await unlink(join(b.home, 'Documents/Templates/b.dotx'));
  await b.pass();
  const heal = failListing(`${sep}Templates`);
  try {
    assert.equal((await a.run()).status, 'synced');
  } finally {
    heal();
  }
  assert.equal(await readFile(join(a.home, 'Documents/Templates/b.dotx'), 'utf8'), 'B', 'left alone while it could not be listed');
  await a.pass();
  assert.ok(!(await names(a.home)).includes('Documents/Templates/b.dotx'), 'then the delete reaches the disk');
  assert.equal(kind(await layer(store), 'Documents/Templates/b.dotx'), 'whiteout');
});

it('without org layers, an image folder deleted as a held mass delete comes back when the user restores it, and its whiteout goes', async (t) => {
  const { dir, store } = await memoryBucket(t, 'base-delete-held');
  const org = parseOrgConfig({ version: 1, org: 'acme', mode: 'vdi', store: { bucket: 'acme-strata' }, folders: ['Documents'] }, 'test');
  const forms = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`form${i}.dotx`, `form ${i}`]));
  const a = await machines(t, dir, store, org, { Documents: { 'image.txt': 'from the image', Forms: forms } })('a');
  await a.pass();
  await rm(join(a.home, 'Documents/Forms'), { recursive: true });
  const held = await a.run();
  assert.equal(held.status, 'held');
  assert.equal((await a.run('restore')).status, 'synced');
  assert.equal(await readFile(join(a.home, 'Documents/Forms/form3.dotx'), 'utf8'), 'form 3', 'the folder is back on the disk');
  const after = await layer(store);
  assert.equal(kind(after, 'Documents/Forms'), 'dir', 'and in the layer, without a whiteout');
  assert.equal(kind(after, 'Documents/Forms/form3.dotx'), 'file');
});

it('an org layer that covered an image file and drops it writes no whiteout: the next session shows the image\'s file', async (t) => {
  const { store, publish, machine } = await withOrgDept(t, 'base-delete-org-drop');
  const a = await machine('a');
  assert.equal(await readFile(join(a.home, 'Documents/image.txt'), 'utf8'), 'the org\'s version');
  await a.pass();
  // The agent switches home to v2, which no longer has the file (refresh.ts records it so).
  const v2 = await publish('v2', { Documents: { 'org.txt': 'org' } });
  await switchOrg(a, v2);
  assert.ok(!(await names(a.home)).includes('Documents/image.txt'), 'the org\'s copy went with v2');
  assert.equal(kind(await layer(store), 'Documents/image.txt'), 'none', 'the user deleted nothing');

  const b = await machine('b');
  assert.equal(await readFile(join(b.home, 'Documents/image.txt'), 'utf8'), 'from the golden image', 'the image\'s file shows again');
});

// The image's files are adopted into the user layer as plain files: nothing in the layer says they
// came from an image. A persistent PC has no base, so its delete of one is a plain delete; the next
// reset VDI machine finds the path in the layer's history instead (history-paths.ts).
it('a golden-image file deleted on a persistent PC stays deleted on the next reset VDI machine', async (t) => {
  const { store, b, vdi } = await vdiThenPc(t, 'base-delete-on-pc');
  await unlink(join(b.home, 'Documents/image.txt'));
  await b.pass();
  const c = await vdi('c', { ...GOLDEN, Documents: { ...GOLDEN.Documents, 'new-in-image.txt': 'the image gained it' } });
  assert.ok(!(await names(c.home)).includes('Documents/image.txt'), 'the file the user deleted on the PC stays deleted');
  assert.ok((await names(c.home)).includes('Documents/new-in-image.txt'), 'an image file the layer never held is kept, as before');
  await c.pass();
  assert.equal(kind(await layer(store), 'Documents/image.txt'), 'whiteout', 'the reset machine writes the whiteout the PC could not');
  assert.equal(kind(await layer(store), 'Documents/new-in-image.txt'), 'file', 'and adopts the new image file');
  await b.pass();
  assert.ok(!(await names(b.home)).includes('Documents/image.txt'), 'the PC does not get it back either');
});

it('on a case-insensitive disk, an image file the layer held under other case, deleted on a persistent PC, stays deleted on the next reset VDI machine', async (t) => {
  const { dir, org, store, b } = await vdiThenPc(t, 'base-delete-case');
  await unlink(join(b.home, 'Documents/image.txt'));
  await b.pass();
  const { 'image.txt': image, ...rest } = GOLDEN.Documents;
  const c = await machines(t, dir, store, org, GOLDEN, { caseInsensitive: true })('c', { ...GOLDEN, Documents: { ...rest, 'Image.TXT': image } });
  assert.ok(!(await names(c.home)).includes('Documents/Image.TXT'), 'the file the user deleted on the PC stays deleted, whatever the case of its name in the image');
  assert.ok((await names(c.home)).includes('Documents/other.txt'));
});

it('a damaged snapshot object in the layer\'s history is passed over with one warning naming it; the rest of the history still hides what the user deleted', async (t) => {
  const { store, b, vdi } = await vdiThenPc(t, 'base-delete-damaged-snapshot');
  await unlink(join(b.home, 'Documents/image.txt'));
  await b.pass();
  const repo = await openRepository(store);
  const { snapshots } = await repo.listSnapshots('user/alice');
  const oldest = snapshots.reduce((x, y) => (y.snapshot.time < x.snapshot.time ? y : x));
  const key = keys.snapshot('user/alice', oldest.id);
  await store.put(key, Buffer.from('{"damaged": true}'));
  const c = await vdi('c');
  assert.ok(!(await names(c.home)).includes('Documents/image.txt'), 'the file the user deleted on the PC stays deleted');
  assert.deepEqual(c.warnings.map((w) => w.includes(key) && /history could not be read in full/.test(w)), [true], JSON.stringify(c.warnings));
});

it('an org file the image has too, edited by the user and then dropped by the org, stays deleted once the user deletes it: the next session does not show the image\'s copy', async (t) => {
  const { store, publish, machine } = await withOrgDept(t, 'base-delete-org-copy-up');
  const a = await machine('a');
  await a.pass();
  // The user edits the org's file: a copy-up into the user layer.
  await writeFile(join(a.home, 'Documents/image.txt'), 'the user\'s edit');
  await a.pass();
  assert.equal(kind(await layer(store), 'Documents/image.txt'), 'file', 'copied up');
  // The org's next version drops the file; the user's copy stays.
  const v2 = await publish('v2', { Documents: { 'org.txt': 'org' } });
  await switchOrg(a, v2);
  assert.equal(await readFile(join(a.home, 'Documents/image.txt'), 'utf8'), 'the user\'s edit');
  // Then the user deletes it.
  await unlink(join(a.home, 'Documents/image.txt'));
  await a.pass();
  assert.equal(kind(await layer(store), 'Documents/image.txt'), 'whiteout', 'the delete hides the image\'s copy');

  const b = await machine('b');
  assert.ok(!(await names(b.home)).includes('Documents/image.txt'), 'the next session does not show the image\'s copy');
  await b.pass();
  assert.equal(kind(await layer(store), 'Documents/image.txt'), 'whiteout', 'and the layer keeps it deleted');
});

it('VDI: signing in again on a machine that was not reset, whose image had nothing in the folders, keeps its empty base', async (t) => {
  const { dir, store } = await memoryBucket(t, 'base-relay-empty');
  const org = parseOrgConfig({ version: 1, org: 'acme', mode: 'vdi', store: { bucket: 'acme-strata' }, folders: ['Documents'] }, 'test');
  const a = await machines(t, dir, store, org, {})('a');
  assert.equal((await readBase(a.baseFile)).paths.size, 0, 'the image had nothing');
  await writeTree(join(a.home, 'Documents'), { 'mine.txt': 'the user made this' });
  await a.pass();
  // The same machine and state dir, not reset: the user signs in again.
  await layHome({ store, session: await readSession(a.stateDir), stateDir: a.stateDir });
  assert.deepEqual([...(await readBase(a.baseFile)).paths], [], 'the files the last lay left are not the image\'s');
  await unlink(join(a.home, 'Documents/mine.txt'));
  await a.pass();
  assert.equal(kind(await layer(store), 'Documents/mine.txt'), 'none', 'its delete is a plain one');
});

it('VDI: signed out and in again on a machine that was not reset, the user\'s own file is not the image\'s: deleting it is a plain delete', async (t) => {
  const { dir, store, repo } = await memoryBucket(t, 'base-relogin');
  const org = parseOrgConfig({ version: 1, org: 'acme', mode: 'vdi', store: { bucket: 'acme-strata' }, folders: ['Documents', '.config'] }, 'test');
  await writeProfile(store, { version: 1, user: 'alice', displayName: '', layers: ['org/dept'], updated: new Date().toISOString() });
  await writeTree(join(dir, 'v1'), { Documents: { 'policy.txt': 'policy' } });
  await publishOrgLayer(repo, 'org/dept', { from: join(dir, 'v1') });
  const a = await machines(t, dir, store, org)('a');
  await a.pass();
  await writeFile(join(a.home, 'Documents/mine.txt'), 'the user made this');
  await a.pass();
  // Signed out (the session goes), then in again on the same machine, not reset.
  await deleteSession(a.stateDir);
  const { deviceId } = await openAgentState(a.stateDir);
  await writeSession(a.stateDir, { version: 1, source: 'test', org, user: 'alice', home: a.home, mode: 'vdi', device: deviceId, signedIn: new Date().toISOString() } satisfies Session);
  await layHome({ store, session: await readSession(a.stateDir), stateDir: a.stateDir });
  const base = await readBase(a.baseFile);
  assert.equal(base.paths.get('Documents/image.txt'), 'file', 'the image is still the base');
  assert.equal(base.paths.has('Documents/mine.txt'), false, 'the user\'s own file is not the image\'s');
  await unlink(join(a.home, 'Documents/mine.txt'));
  await a.pass();
  assert.equal(kind(await layer(store), 'Documents/mine.txt'), 'none', 'a plain delete');
});

it('VDI: an image folder the user deleted stays hidden but for what the user puts back in it, on the next reset machines', async (t) => {
  const { dir, store } = await memoryBucket(t, 'base-delete-folder-again');
  const org = parseOrgConfig({ version: 1, org: 'acme', mode: 'vdi', store: { bucket: 'acme-strata' }, folders: ['Documents', '.config'] }, 'test');
  const machine = machines(t, dir, store, org);
  const a = await machine('a');
  await a.pass();
  await rm(join(a.home, 'Documents/Templates'), { recursive: true });
  await a.pass();
  // The next session's first contact removes the image's folder; the user makes one file in it again.
  const b = await machine('b');
  assert.ok(!(await names(b.home)).includes('Documents/Templates/'));
  await b.pass();
  await mkdir(join(b.home, 'Documents/Templates'));
  await writeFile(join(b.home, 'Documents/Templates/mine.dotx'), 'the user\'s');
  await b.pass();
  const c = await machine('c');
  const seen = await names(c.home);
  assert.ok(seen.includes('Documents/Templates/mine.dotx'), 'the user\'s file is there');
  assert.ok(!seen.includes('Documents/Templates/a.dotx') && !seen.includes('Documents/Templates/b.dotx'), 'the image\'s files in it stay hidden');
});

it('a file the admin preloaded over an image file, deleted on a VDI machine, goes from a PC that is signed in', async (t) => {
  const { dir, store, repo } = await memoryBucket(t, 'base-delete-preloaded');
  const vdi = parseOrgConfig({ version: 1, org: 'acme', mode: 'vdi', store: { bucket: 'acme-strata' }, folders: ['Documents'] }, 'test');
  const pc = await machines(t, dir, store, parseOrgConfig({ ...vdi, mode: 'persistent' }, 'test'), { Documents: { Templates: { 'mine.txt': 'mine' } } })('pc');
  await pc.pass();
  await writeTree(join(dir, 'template'), { Documents: { 'image.txt': 'from the template', Templates: { 'mine.txt': 'template', 'a.dotx': 'template A' } } });
  await preloadUserLayer(repo, 'alice', { from: join(dir, 'template') });
  const a = await machines(t, dir, store, vdi)('a');
  assert.equal(await readFile(join(a.home, 'Documents/image.txt'), 'utf8'), 'from the template');
  await a.pass();
  await unlink(join(a.home, 'Documents/image.txt'));
  await unlink(join(a.home, 'Documents/Templates/a.dotx'));
  await a.pass();
  assert.equal(kind(await layer(store), 'Documents/image.txt'), 'whiteout');
  assert.equal(kind(await layer(store), 'Documents/Templates/a.dotx'), 'whiteout');
  // The VDI session signs out: its head is final.
  await markHeadFinal(await openRepository(store), 'user/alice', (await readSession(a.stateDir)).device);
  await pc.pass();
  assert.ok(!(await names(pc.home)).includes('Documents/image.txt'), 'the PC does not keep the deleted file');
  assert.ok(!(await names(pc.home)).includes('Documents/Templates/a.dotx'), 'nor the one in a folder');
});

it('a golden-image folder deleted on a persistent PC stays deleted on the next reset VDI machine; image folders the user never had, or with other files in them, stay', async (t) => {
  const { store, b, vdi } = await vdiThenPc(t, 'base-delete-folder-on-pc');
  await rm(join(b.home, 'Documents/Templates'), { recursive: true });
  await b.pass();
  assert.equal(kind(await layer(store), 'Documents/Templates'), 'none', 'a plain delete on the PC');
  // A folder the user deleted that a newer image fills with another file too is still the image's.
  const c = await vdi('c', { Documents: { ...GOLDEN.Documents, Templates: { 'a.dotx': 'A', 'c.dotx': 'a new template' } } });
  const filled = await names(c.home);
  assert.ok(!filled.includes('Documents/Templates/a.dotx'), 'the deleted file stays hidden');
  assert.ok(filled.includes('Documents/Templates/c.dotx'), 'the image\'s new file in it shows, and so its folder');

  const d = await vdi('d', { Documents: { ...GOLDEN.Documents, Forms: { 'f.dotx': 'F' }, Empty: {} } });
  const seen = await names(d.home);
  assert.ok(!seen.includes('Documents/Templates/'), 'the folder the user deleted on the PC stays deleted');
  assert.ok(seen.includes('Documents/Forms/f.dotx') && seen.includes('Documents/Empty/'), 'image folders the layer never held are kept');
  await d.pass();
  assert.equal(kind(await layer(store), 'Documents/Templates'), 'whiteout', 'the reset machine writes the whiteout the PC could not');
  assert.equal(kind(await layer(store), 'Documents/Empty'), 'dir', 'and adopts the image\'s new folder');
});

it('an image file a preload covered, deleted on a persistent PC, stays deleted on the next reset VDI machine; an image file at a path the layer never held shows, and a file made while signed out stays', async (t) => {
  const { dir, store, repo } = await memoryBucket(t, 'base-delete-preloaded-on-pc');
  const vdiOrg = parseOrgConfig({ version: 1, org: 'acme', mode: 'vdi', store: { bucket: 'acme-strata' }, folders: ['Documents'] }, 'test');
  await writeTree(join(dir, 'template'), { Documents: { 'image.txt': 'from the template' } });
  await preloadUserLayer(repo, 'alice', { from: join(dir, 'template') });
  const vdi = machines(t, dir, store, vdiOrg);
  const a = await vdi('a');
  assert.equal(await readFile(join(a.home, 'Documents/image.txt'), 'utf8'), 'from the template', 'the preload covers the image\'s file');
  await a.pass();
  const b = await machines(t, dir, store, parseOrgConfig({ ...vdiOrg, mode: 'persistent' }, 'test'), { Documents: {} })('b');
  await b.pass();
  await unlink(join(b.home, 'Documents/image.txt'));
  await b.pass();
  assert.equal(kind(await layer(store), 'Documents/image.txt'), 'none', 'a plain delete on the PC');

  // The machine a, not reset: what the user wrote there while signed out is theirs, not the image's.
  await writeFile(join(a.home, 'Documents/image.txt'), 'written while signed out');
  await layHome({ store, session: await readSession(a.stateDir), stateDir: a.stateDir });
  assert.equal(await readFile(join(a.home, 'Documents/image.txt'), 'utf8'), 'written while signed out', 'a file with bytes the layer never held is kept where it may be the user\'s');

  const c = await vdi('c', { Documents: { ...GOLDEN.Documents, 'new-in-image.txt': 'the image gained it' } });
  const seen = await names(c.home);
  assert.ok(!seen.includes('Documents/image.txt'), 'the image\'s file the preload covered stays deleted');
  assert.ok(seen.includes('Documents/new-in-image.txt') && seen.includes('Documents/other.txt'), 'image files at paths the layer never held show');
  await c.pass();
  assert.equal(kind(await layer(store), 'Documents/image.txt'), 'whiteout', 'the reset machine writes the whiteout the PC could not');
});

it('VDI, no record of the machine: a file of the user\'s own at a path the layer once held, written before the sign-in on a reset machine or on one whose state dir was lost, stays', async (t) => {
  const { dir, store } = await memoryBucket(t, 'base-delete-own-before-signin');
  const vdiOrg = parseOrgConfig({ version: 1, org: 'acme', mode: 'vdi', store: { bucket: 'acme-strata' }, folders: ['Documents'] }, 'test');
  const vdi = machines(t, dir, store, vdiOrg);
  const a = await vdi('a');
  await writeFile(join(a.home, 'Documents/report.txt'), 'the report the user deleted');
  await a.pass();
  await unlink(join(a.home, 'Documents/report.txt'));
  await a.pass();
  assert.equal(kind(await layer(store), 'Documents/report.txt'), 'none', 'a plain delete: the layer held it, and holds it no more');
  const signIn = async (home: string, stateDir: string, bootTime?: number) => {
    const { deviceId } = await openAgentState(stateDir);
    await writeSession(stateDir, { version: 1, source: 'test', org: vdiOrg, user: 'alice', home, mode: 'vdi', device: deviceId, signedIn: new Date().toISOString() } satisfies Session);
    await layHome({ store, session: await readSession(stateDir), stateDir, ...(bootTime ? { bootTime } : {}) });
  };

  // A machine fresh from its image, where the user saved a new report before signing in to Strata.
  const home = join(dir, 'c', 'home');
  await writeTree(home, GOLDEN);
  const bootTime = await bootNow(join(dir, 'c'));
  await writeFile(join(home, 'Documents/report.txt'), 'a new report, written before signing in');
  await signIn(home, join(dir, 'c', 'state'), bootTime);
  assert.equal(await readFile(join(home, 'Documents/report.txt'), 'utf8').catch(() => 'gone'), 'a new report, written before signing in', 'the user\'s file, in no layer, is kept');

  // The machine a, signed out, its state dir lost (the home kept); since it started, the user wrote a report.
  await deleteSession(a.stateDir);
  await writeFile(join(a.home, 'Documents/report.txt'), 'written while signed out');
  await rm(a.stateDir, { recursive: true });
  await signIn(a.home, a.stateDir);
  assert.equal(await readFile(join(a.home, 'Documents/report.txt'), 'utf8').catch(() => 'gone'), 'written while signed out', 'the user\'s file, in no layer, is kept');
});

it('VDI: a machine reset to a new image, its state dir kept: the new image\'s file at a path the layer has, deleted, stays deleted after the next reset', async (t) => {
  const { dir, store } = await memoryBucket(t, 'base-new-image');
  const org = parseOrgConfig({ version: 1, org: 'acme', mode: 'vdi', store: { bucket: 'acme-strata' }, folders: ['Documents'] }, 'test');
  const machine = machines(t, dir, store, org);
  const a = await machine('a');
  await writeFile(join(a.home, 'Documents/notes.txt'), 'the user\'s notes');
  await a.pass();
  // The admin rolls out a new image that ships a notes.txt of its own; the machine is reset to it at
  // each logoff, its state dir (on a persistent disk) kept.
  const NEW = { ...GOLDEN, Documents: { ...GOLDEN.Documents, 'notes.txt': 'the new image\'s notes' } };
  await rm(a.home, { recursive: true });
  const b = await machine('a', NEW);
  assert.equal(await readFile(join(b.home, 'Documents/notes.txt'), 'utf8'), 'the user\'s notes', 'the layer wins');
  await b.pass();
  await unlink(join(b.home, 'Documents/notes.txt'));
  await b.pass();
  assert.equal(kind(await layer(store), 'Documents/notes.txt'), 'whiteout', 'the delete hides the image\'s file');
  await rm(b.home, { recursive: true });
  const c = await machine('a', NEW);
  assert.ok(!(await names(c.home)).includes('Documents/notes.txt'), 'the next reset does not bring it back');
});

it('VDI: restarted without a reset, its state dir kept, a file laid here that another machine changed since is not the image\'s, nor is one the user wrote before signing in on a reset one', async (t) => {
  const { dir, store } = await memoryBucket(t, 'base-restart-no-reset');
  const org = parseOrgConfig({ version: 1, org: 'acme', mode: 'vdi', store: { bucket: 'acme-strata' }, folders: ['Documents'] }, 'test');
  const machine = machines(t, dir, store, org);
  const a = await machine('a');
  await writeTree(join(a.home, 'Documents'), { 'notes.txt': 'the user\'s notes', 'plan.txt': 'the user\'s plan' });
  await a.pass();
  const b = await machine('b');
  await writeFile(join(b.home, 'Documents/notes.txt'), 'edited on another machine');
  await b.pass();
  const signIn = async (bootTime: number) => {
    await deleteSession(a.stateDir);
    const { deviceId } = await openAgentState(a.stateDir);
    await writeSession(a.stateDir, { version: 1, source: 'test', org, user: 'alice', home: a.home, mode: 'vdi', device: deviceId, signedIn: new Date().toISOString() } satisfies Session);
    await layHome({ store, session: await readSession(a.stateDir), stateDir: a.stateDir, bootTime });
  };

  // Machine a restarts, not reset, and the user signs in again: the lay replaces the notes it had.
  await markHeadFinal(await openRepository(store), 'user/alice', (await readSession(a.stateDir)).device);
  await signIn(await bootNow(join(dir, 'a')));
  assert.equal(await readFile(join(a.home, 'Documents/notes.txt'), 'utf8'), 'edited on another machine');
  assert.equal((await readBase(a.baseFile)).paths.has('Documents/notes.txt'), false, 'the file it replaced was laid here: not the image\'s');
  await unlink(join(a.home, 'Documents/notes.txt'));
  await a.pass();
  assert.equal(kind(await layer(store), 'Documents/notes.txt'), 'none', 'its delete is a plain one');

  // Reset (to the same image), state dir kept; before signing in, the user saves a plan of their own there.
  await writeFile(join(b.home, 'Documents/plan.txt'), 'the plan, edited on another machine');
  await b.pass();
  await rm(a.home, { recursive: true });
  await writeTree(a.home, GOLDEN);
  const bootTime = await bootNow(join(dir, 'a'));
  await writeFile(join(a.home, 'Documents/plan.txt'), 'a plan written before signing in');
  await signIn(bootTime);
  assert.equal((await readBase(a.baseFile)).paths.has('Documents/plan.txt'), false, 'a file written since the machine started is not the image\'s');
  await unlink(join(a.home, 'Documents/plan.txt'));
  await a.pass();
  assert.equal(kind(await layer(store), 'Documents/plan.txt'), 'none', 'its delete is a plain one');
});
