// A file of the machine's own image (the base layer, DESIGN §1) that the user deletes: "deleting a
// base or org file records a whiteout in the user layer … and the next session on a reset VDI
// machine hides it again". Today the first pass adopts the image's file into the user layer (the
// agent's lower trees are the org layers only, not the base), the deletion then drops it from the
// layer without a whiteout, and the next reset machine's image shows it again: first contact keeps
// it as a path the layer does not know, and live sync uploads it back. Fixing it needs the base in
// the lower tree (or the user layer's history at first contact): a design change, left to the lead.
import assert from 'node:assert/strict';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { parseOrgConfig } from '../../shared/org-config.js';
import { syncOnce } from '../agent/index.js';
import { writeTree } from '../cli/testkit.js';
import { openRepository } from '../repo/index.js';
import { openAgentState } from '../state/index.js';
import { sessionFolder } from './folder.js';
import { layHome } from './lay.js';
import { readSession, writeSession, type Session } from './session.js';
import { latestTree, listing, memoryBucket } from './testkit.js';

it('VDI: a base file the user deleted stays deleted on the next, reset machine', { todo: 'the base is not part of the lower tree: a deleted image file comes back (see the header)' }, async (t) => {
  const { dir, store } = await memoryBucket(t, 'base-delete');
  const org = parseOrgConfig({ version: 1, org: 'acme', mode: 'vdi', store: { bucket: 'acme-strata' }, folders: ['Documents'] }, 'test');
  const golden = { Documents: { 'image.txt': 'from the golden image', 'other.txt': 'also from the image' } };
  const machine = async (name: string) => {
    const home = join(dir, name, 'home');
    const stateDir = join(dir, name, 'state');
    await writeTree(home, golden);
    const { deviceId } = await openAgentState(stateDir);
    await writeSession(stateDir, { version: 1, source: 'test', org, user: 'alice', home, mode: org.mode, device: deviceId, signedIn: new Date().toISOString() } satisfies Session);
    await layHome({ store, session: await readSession(stateDir), stateDir });
    const pass = async () => {
      const session = await readSession(stateDir);
      const r = await syncOnce({ stateDir, repo: await openRepository(store), folder: sessionFolder(session, stateDir) });
      assert.equal(r.status, 'synced');
    };
    return { home, pass };
  };
  const a = await machine('a');
  await a.pass();
  await unlink(join(a.home, 'Documents/image.txt'));
  await a.pass();

  const b = await machine('b');
  assert.deepEqual(Object.keys(await listing(b.home)).sort(), ['Documents/', 'Documents/other.txt'], 'the next session hides the deleted file');
  await b.pass();
  assert.equal((await latestTree(await openRepository(store), 'user/alice')).get('Documents/image.txt')?.type ?? 'none', 'whiteout', 'and the layer keeps it deleted');
});
