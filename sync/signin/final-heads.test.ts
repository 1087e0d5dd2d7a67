// Final heads (DESIGN §2, device-head.ts): every VDI session is a device with a head of its own.
// A sign-out marks its head final; the next sign-in whose head descends from it deletes it, so a
// user's heads stop growing by one per session. Only final heads go, and only once another head is
// known to hold everything they point at; a signed-in device whose head went writes it again.
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { parseOrgConfig } from '../../shared/org-config.js';
import { syncOnce } from '../agent/index.js';
import { writeTree } from '../cli/testkit.js';
import { openRepository, type Repository } from '../repo/index.js';
import { writeHead } from '../repo/layers.js';
import { FORMAT_VERSION, keys } from '../repo/types.js';
import { openAgentState } from '../state/index.js';
import type { ObjectStore } from '../store/index.js';
import { markHeadFinal } from './device-head.js';
import { sessionFolder } from './folder.js';
import { layHome } from './lay.js';
import { signOut } from './logout.js';
import { readSession, writeSession, type Session } from './session.js';
import { latestTree, makeMachine, makeTestOrg, memoryBucket, signInAndLay, signInSkipReason, syncPass } from './testkit.js';

const LAYER = 'user/alice';

async function heads(repo: Repository): Promise<string[]> {
  return (await repo.listHeads(LAYER)).heads.map((h) => `${h.device}${h.final ? ' (final)' : ''}`).sort();
}

/** A VDI machine freshly reset, signed in as alice over `store`. */
async function session(t: TestContext, dir: string, store: ObjectStore, name: string) {
  const org = parseOrgConfig({ version: 1, org: 'acme', mode: 'vdi', store: { bucket: 'acme-strata' }, folders: ['Documents'] }, 'test');
  const home = join(dir, name, 'home');
  const stateDir = join(dir, name, 'state');
  await writeTree(home, { Documents: {} });
  const { deviceId } = await openAgentState(stateDir);
  await writeSession(stateDir, { version: 1, source: 'test', org, user: 'alice', home, mode: 'vdi', device: deviceId, signedIn: new Date().toISOString() } satisfies Session);
  await layHome({ store, session: await readSession(stateDir), stateDir });
  const pass = async () => {
    const r = await syncOnce({ stateDir, repo: await openRepository(store), folder: sessionFolder(await readSession(stateDir), stateDir) });
    assert.equal(r.status, 'synced');
  };
  const signOutHere = async () => {
    await pass();
    assert.ok(await markHeadFinal(await openRepository(store), LAYER, deviceId));
  };
  return { home, device: deviceId, pass, signOut: signOutHere };
}

describe('final heads', () => {
  it('a chain of VDI sessions keeps one head: each sign-in drops the one before, and nothing is lost', async (t) => {
    const { dir, store, repo } = await memoryBucket(t, 'final-chain');
    for (let i = 1; i <= 5; i++) {
      const s = await session(t, dir, store, `s${i}`);
      assert.deepEqual(await heads(repo), i === 1 ? [] : [s.device], `session ${i} signed in: the last one's final head is gone`);
      for (let j = 1; j < i; j++) assert.equal(await readFile(join(s.home, `Documents/note-${j}.txt`), 'utf8'), `from session ${j}`);
      await writeFile(join(s.home, `Documents/note-${i}.txt`), `from session ${i}`);
      await s.signOut();
      assert.deepEqual(await heads(repo), [`${s.device} (final)`]);
    }
  });

  it('keeps a head still signed in, and a final one nothing descends from until a pass has merged it', async (t) => {
    const { dir, store, repo } = await memoryBucket(t, 'final-concurrent');
    const a = await session(t, dir, store, 'a');
    await writeFile(join(a.home, 'Documents/a.txt'), 'a');
    await a.pass();
    // b and c run side by side from a's layer; c signs out first, then b, which never saw c's edit.
    const b = await session(t, dir, store, 'b');
    const c = await session(t, dir, store, 'c');
    assert.ok((await heads(repo)).includes(a.device), "a is still signed in: its head stays");
    await a.signOut();
    await writeFile(join(c.home, 'Documents/c.txt'), 'c');
    await c.signOut();
    await rm(join(b.home, 'Documents/a.txt'));
    await writeFile(join(b.home, 'Documents/b.txt'), 'b');
    const bRepo = await openRepository(store);
    await syncOnce({ stateDir: join(dir, 'b', 'state'), repo: bRepo, folder: sessionFolder(await readSession(join(dir, 'b', 'state')), join(dir, 'b', 'state')) });
    await b.signOut();
    // d lays the newest head, b's, which merged c's: both go, and a's, which both descend from.
    const d = await session(t, dir, store, 'd');
    assert.deepEqual(await heads(repo), [d.device]);
    const tree = await latestTree(repo, LAYER);
    assert.deepEqual([...tree.keys()].filter((p) => p.startsWith('Documents/')).sort(), ['Documents/b.txt', 'Documents/c.txt']);
  });

  it('a final head the laid snapshot does not descend from stays until a pass has merged it', async (t) => {
    const { dir, store, repo } = await memoryBucket(t, 'final-diverged');
    const a = await session(t, dir, store, 'a');
    await writeFile(join(a.home, 'Documents/a.txt'), 'a');
    await a.signOut();
    // A session that signed out without ever seeing a's: its snapshot shares no history with it.
    const data = Buffer.from('ghost');
    const chunk = repo.blobId(data);
    await repo.addBlob('data', chunk, data);
    const docs = await repo.saveTree({ entries: [{ name: 'ghost.txt', type: 'file', mode: 0o644, mtimeMs: Date.UTC(2026, 0, 1), size: data.byteLength, chunks: [chunk] }] });
    const root = await repo.saveTree({ entries: [{ name: 'Documents', type: 'dir', mode: 0o755, mtimeMs: 0, subtree: docs }] });
    await repo.flush();
    const time = new Date(Date.UTC(2026, 0, 1)).toISOString();
    const ghost = await repo.saveSnapshot({ version: FORMAT_VERSION, layer: LAYER, device: 'ghost', time, root, parents: [] });
    await writeHead(store, { version: FORMAT_VERSION, layer: LAYER, device: 'ghost', snapshot: ghost, time, final: true });

    const d = await session(t, dir, store, 'd');
    assert.deepEqual(await heads(repo), [d.device, 'ghost (final)'].sort(), "a's goes; the ghost's, which d's head does not hold, stays");
    await d.signOut();
    const e = await session(t, dir, store, 'e');
    assert.deepEqual(await heads(repo), [e.device], "once a pass merged it, it goes too");
    assert.equal(await readFile(join(e.home, 'Documents/a.txt'), 'utf8'), 'a');
    assert.equal(await readFile(join(e.home, 'Documents/ghost.txt'), 'utf8'), 'ghost');
  });

  it('a signed-in device whose head was dropped, or is still marked final, writes it again', async (t) => {
    const { dir, store, repo } = await memoryBucket(t, 'final-heal');
    const a = await session(t, dir, store, 'a');
    await writeFile(join(a.home, 'Documents/a.txt'), 'a');
    await a.pass();
    await store.delete(keys.head(LAYER, a.device));
    await a.pass();
    assert.deepEqual(await heads(repo), [a.device]);
    await markHeadFinal(repo, LAYER, a.device);
    await a.pass();
    assert.deepEqual(await heads(repo), [a.device], 'not final while signed in');
  });
  it('a session whose sign-out was cut off after it marked the head final syncs on: its next pass makes the head non-final before it writes, so the next sign-in keeps it and the edit', async (t) => {
    const { dir, store, repo } = await memoryBucket(t, 'final-cut-off');
    const a = await session(t, dir, store, 'a');
    // The sign-out's flush and final mark, then the sign-out killed: a's agent resumes (logout-pause.ts).
    await a.signOut();
    await writeFile(join(a.home, 'Documents/after.txt'), 'written after the final mark');
    await a.pass();
    assert.deepEqual(await heads(repo), [a.device], 'no longer final');
    const d = await session(t, dir, store, 'd');
    assert.deepEqual(await heads(repo), [a.device, d.device].sort(), "a's head stays: its device writes again");
    await d.pass();
    assert.equal(await readFile(join(d.home, 'Documents/after.txt'), 'utf8'), 'written after the final mark');
  });

  it("the one window left: a's whole pass between the next sign-in's second listing and its delete loses a's head, which a's next pass writes again (device-head.ts)", async (t) => {
    const { dir, store, repo } = await memoryBucket(t, 'final-cut-off-race');
    const a = await session(t, dir, store, 'a');
    await a.signOut();
    // d's sign-in has listed a's head final twice (dropFinalHeads); a's agent, resumed, then runs a
    // whole pass (the head made non-final, the edit, its head) before d's delete lands.
    const racing = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop !== 'delete') return Reflect.get(target, prop, receiver) as unknown;
        return async (key: string) => {
          if (key === keys.head(LAYER, a.device)) {
            await writeFile(join(a.home, 'Documents/after.txt'), 'written after the final mark');
            await a.pass();
          }
          return target.delete(key);
        };
      },
    });
    const d = await session(t, dir, racing, 'd');
    assert.deepEqual(await heads(repo), [d.device], "a's head, with the edit, went");
    await a.pass();
    assert.deepEqual(await heads(repo), [a.device, d.device].sort(), "a's next pass writes it again: nothing is lost unless a never passes again");
    await d.pass();
    assert.equal(await readFile(join(d.home, 'Documents/after.txt'), 'utf8'), 'written after the final mark');
  });

  it('a VDI machine signing in again without a reset, its head dropped meanwhile, takes a file deleted elsewhere away', async (t) => {
    const { dir, store, repo } = await memoryBucket(t, 'final-not-reset');
    const a = await session(t, dir, store, 'a');
    await writeTree(join(a.home, 'Documents'), { 'keep.txt': 'keep', 'gone.txt': 'gone' });
    await a.signOut();
    const b = await session(t, dir, store, 'b');
    assert.deepEqual(await heads(repo), [b.device]);
    await rm(join(b.home, 'Documents/gone.txt'));
    await b.signOut();
    await session(t, dir, store, 'a');
    assert.deepEqual((await readdir(join(a.home, 'Documents'))).sort(), ['keep.txt']);
  });

  it("a device whose new head vanished before its first pass does not take its last session's head for the disk's", async (t) => {
    const { dir, store, repo } = await memoryBucket(t, 'final-relay');
    const a = await session(t, dir, store, 'a');
    await writeFile(join(a.home, 'Documents/p.txt'), 'v0');
    await a.pass();
    const a0 = (await repo.listHeads(LAYER)).heads[0]!.snapshot;
    await writeFile(join(a.home, 'Documents/p.txt'), 'v1');
    await a.signOut();
    await session(t, dir, store, 'j');
    // A device that forked from v0 and wrote last: the next sign-in lays its v0.
    const time = new Date(Date.now() + 3_600_000).toISOString();
    const fork = await (await openRepository(store)).saveSnapshot({ version: FORMAT_VERSION, layer: LAYER, device: 'fork', time, root: (await repo.loadSnapshot(LAYER, a0)).root, parents: [a0] });
    await writeHead(store, { version: FORMAT_VERSION, layer: LAYER, device: 'fork', snapshot: fork, time });
    // The same machine signs in again, not reset; the head its lay wrote goes before its first pass.
    const again = await session(t, dir, store, 'a');
    assert.equal(again.device, a.device);
    assert.equal(await readFile(join(a.home, 'Documents/p.txt'), 'utf8'), 'v0');
    await store.delete(keys.head(LAYER, a.device));
    await again.pass();
    const docs = await readdir(join(a.home, 'Documents'));
    const texts = await Promise.all(docs.map((n) => readFile(join(a.home, 'Documents', n), 'utf8')));
    assert.ok(texts.includes('v1'), `v1 was reverted without a trace: ${JSON.stringify(docs)} hold ${JSON.stringify(texts)}`);
  });

  it('a signed-in device that starts with its head dropped takes what others did since as theirs, not as a clash with its disk', async (t) => {
    // A sign-out that failed after marking the head final (its session stays), and a sign-in
    // elsewhere that dropped the head before this device's agent started again.
    const { dir, store, repo } = await memoryBucket(t, 'final-restart');
    const a = await session(t, dir, store, 'a');
    await writeTree(join(a.home, 'Documents'), { 'keep.txt': 'keep', 'gone.txt': 'gone', 'edited.txt': 'v1' });
    await a.signOut();
    const b = await session(t, dir, store, 'b');
    assert.deepEqual(await heads(repo), [b.device]);
    await rm(join(b.home, 'Documents/gone.txt'));
    await writeFile(join(b.home, 'Documents/edited.txt'), 'v2');
    await b.pass();
    const r = await syncOnce({ stateDir: join(dir, 'a', 'state'), repo: await openRepository(store), folder: sessionFolder(await readSession(join(dir, 'a', 'state')), join(dir, 'a', 'state')) });
    assert.equal(r.status, 'synced');
    assert.deepEqual(r.conflicts, []);
    assert.deepEqual((await readdir(join(a.home, 'Documents'))).sort(), ['edited.txt', 'keep.txt']);
    assert.equal(await readFile(join(a.home, 'Documents/edited.txt'), 'utf8'), 'v2');
    assert.deepEqual(await heads(repo), [a.device, b.device].sort());
  });
});

describe('signOut marks the head final', { skip: await signInSkipReason(), timeout: 120_000 }, () => {
  it('on Swift with the keychain: the next VDI session drops it', async (t) => {
    const org = await makeTestOrg(t, { mode: 'vdi', folders: ['Documents'] });
    const one = await makeMachine(org, 'one');
    await signInAndLay(org, one, 'alice');
    await writeTree(one.home, { Documents: { 'plan.txt': 'plan' } });
    assert.equal((await syncPass(one)).status, 'synced');
    const device = (await readSession(one.stateDir)).device;
    await signOut({ stateDir: one.stateDir, wipe: true });
    const admin = await org.admin();
    assert.deepEqual(await heads(admin), [`${device} (final)`]);
    const two = await makeMachine(org, 'two');
    await signInAndLay(org, two, 'alice');
    assert.deepEqual(await heads(admin), [(await readSession(two.stateDir)).device]);
    assert.equal(await readFile(join(two.home, 'Documents/plan.txt'), 'utf8'), 'plan');
  });
});

describe('a persistent PC signing in again', { skip: await signInSkipReason(), timeout: 120_000 }, () => {
  it('on Swift with the keychain: files deleted or edited elsewhere since it signed out are taken from the layer, not kept as its own', async (t) => {
    const org = await makeTestOrg(t, { mode: 'persistent', folders: ['Documents'] });
    const pc = await makeMachine(org, 'pc');
    await signInAndLay(org, pc, 'alice');
    await writeTree(pc.home, { Documents: { 'keep.txt': 'keep', 'gone.txt': 'gone', 'edited.txt': 'v1' } });
    assert.equal((await syncPass(pc)).status, 'synced');
    await signOut({ stateDir: pc.stateDir });
    // The user goes on elsewhere: deletes one file, edits another, signs out.
    const laptop = await makeMachine(org, 'laptop');
    await signInAndLay(org, laptop, 'alice');
    await rm(join(laptop.home, 'Documents/gone.txt'));
    await writeFile(join(laptop.home, 'Documents/edited.txt'), 'v2');
    assert.equal((await syncPass(laptop)).status, 'synced');
    await signOut({ stateDir: laptop.stateDir });
    // Back at the PC, whose folders still hold what it synced: the layer's versions win.
    const again = await signInAndLay(org, pc, 'alice');
    assert.deepEqual(again.conflicts, []);
    assert.deepEqual((await readdir(join(pc.home, 'Documents'))).sort(), ['edited.txt', 'keep.txt']);
    assert.equal(await readFile(join(pc.home, 'Documents/edited.txt'), 'utf8'), 'v2');
  });
});
