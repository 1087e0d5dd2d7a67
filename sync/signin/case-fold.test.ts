// Signing in on a case-insensitive disk (Windows, macOS) a layer that holds names differing only
// in case — synced from a case-sensitive machine, or an org layer's name against the user's: the
// lay must not let one overwrite the other (lay.ts, effective.ts foldCase). The disk here is
// case-sensitive, so the test asks for the case-insensitive lay and checks that no two laid names
// fold together, that every version is on the disk, and that a sync pass afterwards keeps them all.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseOrgConfig } from '../../shared/org-config.js';
import { syncOnce } from '../agent/index.js';
import { writeTree } from '../cli/testkit.js';
import { foldKey } from '../plan/index.js';
import { publishOrgLayer, preloadUserLayer, writeProfile } from '../profile/index.js';
import { openRepository } from '../repo/index.js';
import { openAgentState } from '../state/index.js';
import { sessionFolder } from './folder.js';
import { layHome } from './lay.js';
import { writeSession, type Session } from './session.js';
import { latestTree, listing, memoryBucket } from './testkit.js';

test('a case-insensitive sign-in lays names that differ only in case side by side, losing none', async (t) => {
  const { dir, store, repo } = await memoryBucket(t, 'case-fold');
  const org = join(dir, 'org');
  await writeTree(org, { Documents: { 'README.md': 'org readme' } });
  await publishOrgLayer(repo, 'org/base', { from: org });
  const user = join(dir, 'user');
  await writeTree(user, {
    Documents: {
      'Notes.txt': 'notes, capital',
      'notes.txt': 'notes, small',
      'Readme.md': 'user readme',
      Photos: { 'a.jpg': 'photo a' },
      photos: { 'b.jpg': 'photo b' },
    },
  });
  await writeProfile(store, { version: 1, user: 'alice', displayName: '', layers: ['org/base'], updated: new Date().toISOString() });
  await preloadUserLayer(repo, 'alice', { from: user });

  const home = join(dir, 'home');
  const stateDir = join(dir, 'state');
  const config = parseOrgConfig({ version: 1, org: 'acme', store: { bucket: 'acme-strata' }, folders: ['Documents'] }, 'test');
  const { deviceId } = await openAgentState(stateDir);
  const session: Session = { version: 1, source: 'test', org: config, user: 'alice', home, mode: config.mode, device: deviceId, signedIn: new Date().toISOString() };
  await writeSession(stateDir, session);
  const laid = await layHome({ store, session, stateDir, caseInsensitive: true });

  const disk = await listing(home);
  const folds = Object.keys(disk).map((p) => foldKey(p.replace(/\/$/, '')));
  assert.equal(new Set(folds).size, folds.length, `two laid names fold together: ${Object.keys(disk).join(', ')}`);
  const files = Object.keys(disk).filter((p) => !p.endsWith('/'));
  assert.equal(files.length, 6, `every version is laid: ${files.join(', ')}`);
  // The dirs are united under the name that sorts first; the files keep theirs inside it.
  assert.ok(disk['Documents/Photos/a.jpg'] && disk['Documents/Photos/b.jpg']);
  // Of two files, the name that sorts first stays; the other is a conflict copy named after its layer.
  assert.ok(disk['Documents/Notes.txt'] && disk['Documents/README.md']);
  const copies = files.filter((p) => p.includes('.sync-conflict-'));
  assert.equal(copies.length, 2);
  assert.ok(copies.some((p) => /^Documents\/notes\.sync-conflict-\d{8}-\d{6}-user_alice\.txt$/.test(p)), copies.join(', '));
  assert.ok(copies.some((p) => /^Documents\/Readme\.sync-conflict-\d{8}-\d{6}-user_alice\.md$/.test(p)), copies.join(', '));
  assert.deepEqual(laid.conflicts.map((c) => `${c.path} -> ${c.copy}`).sort(), copies.map((c) => `${c.startsWith('Documents/notes') ? 'Documents/notes.txt' : 'Documents/Readme.md'} -> ${c}`).sort());

  // The first sync pass records what was laid: the copies join the user layer, and no content is dropped.
  await syncOnce({ stateDir, repo: await openRepository(store), folder: sessionFolder(session, stateDir) });
  const after = await listing(home);
  assert.deepEqual(after, disk, 'the pass changes nothing on the disk');
  const layer = await latestTree(await openRepository(store), 'user/alice');
  for (const c of copies) assert.equal(layer.get(c)?.type, 'file', `${c} is in the user layer`);
});

test('two org layers that spell a folder differently are laid as one folder under the policy, and the passes after settle', async (t) => {
  const { dir, store, repo } = await memoryBucket(t, 'case-fold-orgs');
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  await writeTree(a, { Documents: { Templates: { 'letter.dotx': 'letter' } } });
  await writeTree(b, { Documents: { templates: { 'memo.dotx': 'memo' } } });
  await publishOrgLayer(repo, 'org/a', { from: a });
  await publishOrgLayer(repo, 'org/b', { from: b });
  await writeProfile(store, { version: 1, user: 'alice', displayName: '', layers: ['org/a', 'org/b'], updated: new Date().toISOString() });

  const home = join(dir, 'home');
  const stateDir = join(dir, 'state');
  // The machine folds case by the org's policy alone (its own disk does not).
  const config = parseOrgConfig({ version: 1, org: 'acme', store: { bucket: 'acme-strata' }, folders: ['Documents'], policies: { caseInsensitive: true } }, 'test');
  const { deviceId } = await openAgentState(stateDir);
  const session: Session = { version: 1, source: 'test', org: config, user: 'alice', home, mode: config.mode, device: deviceId, signedIn: new Date().toISOString() };
  await writeSession(stateDir, session);
  await layHome({ store, session, stateDir });

  const disk = await listing(home);
  const folds = Object.keys(disk).map((p) => foldKey(p.replace(/\/$/, '')));
  assert.equal(new Set(folds).size, folds.length, `two laid names fold together: ${Object.keys(disk).join(', ')}`);
  assert.deepEqual(Object.keys(disk), ['Documents/', 'Documents/Templates/', 'Documents/Templates/letter.dotx', 'Documents/Templates/memo.dotx'], 'the folder that sorts first takes the other one\'s files');

  const once = async () => syncOnce({ stateDir, repo: await openRepository(store), folder: sessionFolder(session, stateDir) });
  const first = await once();
  assert.equal(first.status, 'synced');
  assert.deepEqual(await listing(home), disk, 'the pass changes nothing on the disk');
  const second = await once();
  assert.equal(second.status === 'synced' && second.snapshot, undefined, 'the next pass writes nothing');
  assert.deepEqual(await listing(home), disk);
});
