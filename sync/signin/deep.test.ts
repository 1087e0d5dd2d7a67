// Signing in where the user layer holds paths too long for this machine's home (past PATH_MAX: the
// machine that synced them has its home higher up): the lay lays the rest and names them, and the
// first sync pass leaves them alone: never taken for deleted, on no machine.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { parseOrgConfig, type OrgConfig } from '../../shared/org-config.js';
import { syncOnce } from '../agent/index.js';
import { openRepository } from '../repo/index.js';
import { openAgentState } from '../state/index.js';
import type { MemoryStore } from '../store/memory.js';
import { pastPathMax } from '../testing/deep-tree.js';
import { sessionFolder } from './folder.js';
import { layHome } from './lay.js';
import { readSession, writeSession, type Session } from './session.js';
import { latestTree, memoryBucket } from './testkit.js';

const linuxOnly = { skip: process.platform !== 'linux' && 'PATH_MAX of 4,096 bytes is Linux' };

/** A machine where alice signed in, its home at `home`. */
async function machine(store: MemoryStore, org: OrgConfig, home: string, stateDir: string) {
  const { deviceId } = await openAgentState(stateDir);
  await writeSession(stateDir, { version: 1, source: 'test', org, user: 'alice', home, mode: org.mode, device: deviceId, signedIn: new Date().toISOString() } satisfies Session);
  const lay = async () => layHome({ store, session: await readSession(stateDir), stateDir });
  const pass = async () => {
    const r = await syncOnce({ stateDir, repo: await openRepository(store), folder: sessionFolder(await readSession(stateDir), stateDir) });
    assert.equal(r.status, 'synced', JSON.stringify(r));
  };
  return { lay, pass };
}

it('a lay onto a home too deep for some paths of the layer lays the rest and names them; the first pass deletes none of them', linuxOnly, async (t) => {
  const { dir, store } = await memoryBucket(t, 'signin-deep');
  const org = parseOrgConfig({ version: 1, org: 'acme', store: { bucket: 'acme-strata' }, folders: ['Documents'] }, 'test');
  // A's home in a dir of its own: its tree is made short again (undo) before rm reaches into it.
  const nearHome = join(await mkdtemp(join(tmpdir(), 'strata-signin-deep-a-')), 'home');
  await mkdir(join(nearHome, 'Documents'), { recursive: true });
  await writeFile(join(nearHome, 'Documents', 'top.txt'), 'top');
  const tree = await pastPathMax(join(nearHome, 'Documents', 't'), 14);
  t.after(() => tree.undo());
  t.after(() => rm(join(nearHome, '..'), { recursive: true, force: true }));
  const a = await machine(store, org, nearHome, join(dir, 'a', 'state'));
  await a.lay();
  await a.pass();
  const end = `Documents/t/${tree.dir(14)}/end.txt`;
  assert.equal((await latestTree(await openRepository(store), 'user/alice')).get(end)?.type, 'file');

  const farHome = join(dir, 'x'.repeat(250), 'x'.repeat(250), 'x'.repeat(250), 'b', 'home');
  const b = await machine(store, org, farHome, join(dir, 'b', 'state'));
  const r = await b.lay();
  assert.equal(r.tooLong.length, 1, JSON.stringify(r.tooLong));
  assert.match(r.tooLong[0]!, new RegExp(`^Documents/t/(n{250}/)*n{250}$`));
  assert.ok(end.startsWith(`${r.tooLong[0]!}/`));
  assert.equal(r.warnings.length, 1, JSON.stringify(r.warnings));
  assert.match(r.warnings[0]!, /E_PATH_TOO_LONG .*…/);
  assert.equal(await readFile(join(farHome, 'Documents', 'top.txt'), 'utf8'), 'top');
  assert.equal(await readFile(join(farHome, 'Documents', 't', tree.dir(1), 'near.txt'), 'utf8'), 'near');

  await b.pass();
  await b.pass();
  const layer = await latestTree(await openRepository(store), 'user/alice');
  assert.equal(layer.get(end)?.type, 'file', 'the layer still holds end.txt');
  assert.ok(![...layer.values()].some((n) => n.type === 'whiteout'));
  await a.pass();
  assert.equal(await readFile(join(nearHome, 'Documents', 't', tree.dir(14), 'end.txt'), 'utf8'), 'end');
});
