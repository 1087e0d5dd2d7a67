// The org layer follower (refresh.ts) with a real agent on an in-memory bucket: it switches home
// to a new org layer version and records the switch before and after; it does nothing while sync
// is paused; a failed check changes nothing; a switch a restart finds recorded is finished.
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { parseOrgConfig } from '../../shared/org-config.js';
import { isStrataError, StrataError } from '../errors.js';
import { writeTree } from '../cli/testkit.js';
import { profileKey, publishOrgLayer, writeProfile } from '../profile/index.js';
import type { ByteRange, ListOptions, ObjectInfo, ObjectStore } from '../store/index.js';
import { ForwardingStore } from '../store/forwarding.js';
import type { Readable } from 'node:stream';
import { layHome } from './lay.js';
import { checkLayable } from './layers.js';
import { startSessionAgent } from './live.js';
import { OrgLayerFollower, type FollowEvent } from './refresh.js';
import { readSession, writeSession, type Session } from './session.js';
import { openRepository } from '../repo/index.js';
import { listDir } from '../agent/testkit.js';
import { memoryBucket } from './testkit.js';

/** alice signed in over org/dept v1; `publish` makes the next version. */
async function laidOverV1(t: TestContext) {
  const { dir, store, repo } = await memoryBucket(t, 'follow');
  const publish = async (name: string, text: string) => {
    await writeTree(join(dir, name), { Documents: { 'policy.txt': text } });
    return publishOrgLayer(repo, 'org/dept', { from: join(dir, name) });
  };
  await publish('v1', 'policy v1');
  await writeProfile(store, { version: 1, user: 'alice', displayName: '', layers: ['org/dept'], updated: new Date().toISOString() });
  const home = join(dir, 'home');
  const stateDir = join(dir, 'state');
  const org = parseOrgConfig({ version: 1, org: 'acme', store: { bucket: 'acme-strata' }, policies: {}, folders: ['Documents'] }, 'test');
  await writeSession(stateDir, { version: 1, source: 'test', org, user: 'alice', home, mode: 'persistent', device: 'pc1', signedIn: new Date().toISOString() } satisfies Session);
  await layHome({ store, session: await readSession(stateDir), stateDir });
  const policy = () => readFile(join(home, 'Documents/policy.txt'), 'utf8');
  return { store, home, stateDir, publish, policy };
}

/** The session's agent and a follower (on `followerStore`) that checks only when asked; both stopped after the test. */
async function follow(t: TestContext, stateDir: string, store: ObjectStore, followerStore = store) {
  const session = await readSession(stateDir);
  const agent = await startSessionAgent({ stateDir, session, openStore: () => store, watch: false, pollMs: 3_600_000 });
  const events: FollowEvent[] = [];
  let notify: (() => void) | undefined;
  const follower = new OrgLayerFollower({ stateDir, store: followerStore, agent, session, intervalMs: 0, onEvent: (e) => (events.push(e), notify?.()) });
  t.after(async () => {
    follower.stop();
    await agent.stop();
  });
  /** Resolves at the first event of `type` (at once if there was one). */
  const event = (type: FollowEvent['type']): Promise<FollowEvent> =>
    new Promise((resolve) => {
      const look = () => {
        const e = events.find((x) => x.type === type);
        if (e) resolve(e);
      };
      notify = look;
      look();
    });
  return { agent, follower, events, event };
}

describe('OrgLayerFollower', { timeout: 60_000 }, () => {
  it('switches home to a new version: the session names both layers during the switch, then only the new one', async (t) => {
    const { store, stateDir, publish, policy } = await laidOverV1(t);
    const v1 = (await readSession(stateDir)).laid?.org[0];
    const v2 = await publish('v2', 'policy v2');
    const { event } = await follow(t, stateDir, store);
    const switching = await event('switching');
    assert.deepEqual(switching, { type: 'switching', from: [v1], to: [{ layer: 'org/dept', snapshot: v2.snapshotId, root: v2.snapshot.root }] });
    await event('switched');
    assert.equal(await policy(), 'policy v2');
    const laid = (await readSession(stateDir)).laid;
    assert.deepEqual(laid?.org.map((l) => l.snapshot), [v2.snapshotId]);
    assert.equal(laid?.orgBefore, undefined);
  });

  it('a layer assigned later is laid under the user\'s files; unassigned, its files go and the user\'s stay', async (t) => {
    const { store, home, stateDir } = await laidOverV1(t);
    const profile = (layers: string[]) => writeProfile(store, { version: 1, user: 'alice', displayName: '', layers, updated: new Date().toISOString() });
    await profile([]);
    const { follower, events, event } = await follow(t, stateDir, store);
    await event('switched');
    assert.deepEqual(await listDir(home), {}, 'unassigned: the org file went, and its dir');
    await mkdir(join(home, 'Documents'));
    await writeFile(join(home, 'Documents/mine.txt'), 'the user wrote this');
    events.length = 0;
    // The admin assigns a layer that has a file at the user's path, and one the user lacks.
    await writeTree(join(home, '..', 'v2'), { Documents: { 'mine.txt': 'org text', 'policy.txt': 'policy v2' } });
    await publishOrgLayer(await openRepository(store), 'org/dept', { from: join(home, '..', 'v2') });
    await profile(['org/dept']);
    await follower.check();
    await event('switched');
    assert.deepEqual(await listDir(home), { 'Documents/': '', 'Documents/mine.txt': 'the user wrote this', 'Documents/policy.txt': 'policy v2' });
  });

  it('checks nothing while sync is paused; the first check after resuming switches', async (t) => {
    const { store, stateDir, publish, policy } = await laidOverV1(t);
    const { agent, follower, events, event } = await follow(t, stateDir, store);
    await follower.check();
    await agent.pause();
    await publish('v2', 'policy v2');
    await follower.check();
    assert.deepEqual(events, [], 'paused: no check');
    assert.equal(await policy(), 'policy v1');
    await agent.resume();
    await follower.check();
    await event('switched');
    assert.equal(await policy(), 'policy v2');
  });

  for (const [what, at] of [['the profile', '/profile'], ['the new version', 'data/']] as const) {
    it(`a pause that comes while a check reads ${what} ends the check: no request after the pause, nothing recorded or refused; the first check after resuming switches`, async (t) => {
      const { store, stateDir, publish, policy } = await laidOverV1(t);
      await publish('v2', 'policy v2');
      // The follower's bucket holds its first read under `at` until released, and counts what is asked of it after the pause.
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      let reach!: () => void;
      const reached = new Promise<void>((r) => (reach = r));
      let hold = true;
      let paused = false;
      const after: string[] = [];
      const asked = async (what: string, key: string): Promise<void> => {
        if (paused) after.push(`${what} ${key}`);
        if (!hold || !key.includes(at)) return;
        hold = false;
        reach();
        await released;
      };
      class Gated extends ForwardingStore {
        override async get(key: string, range?: ByteRange): Promise<Uint8Array> {
          await asked('get', key);
          return super.get(key, range);
        }
        override async getStream(key: string, range?: ByteRange): Promise<Readable> {
          await asked('getStream', key);
          return super.getStream(key, range);
        }
        override async head(key: string): Promise<ObjectInfo | undefined> {
          await asked('head', key);
          return super.head(key);
        }
        override list(prefix: string, opts?: ListOptions): AsyncIterable<ObjectInfo> {
          if (paused) after.push(`list ${prefix}`);
          return super.list(prefix, opts);
        }
      }
      const { agent, follower, events, event } = await follow(t, stateDir, store, new Gated(store));
      await reached;
      await agent.pause();
      paused = true;
      release();
      await follower.check();
      assert.deepEqual(after, [], 'requests after the pause');
      assert.deepEqual(events, [], 'paused: no switch, no failure');
      assert.equal((await readSession(stateDir)).laid?.orgBefore, undefined, 'nothing recorded');
      paused = false;
      await agent.resume();
      await follower.check();
      await event('switched');
      assert.equal(await policy(), 'policy v2');
    });
  }

  it('a version whose read a pause cut short is not refused: the pause is the error', async (t) => {
    const { store, publish } = await laidOverV1(t);
    const v2 = await publish('v2', 'policy v2');
    class PausedAtData extends ForwardingStore {
      override async get(key: string, range?: ByteRange): Promise<Uint8Array> {
        if (key.startsWith('data/')) throw new StrataError('E_PAUSED', 'sync was paused');
        return super.get(key, range);
      }
      override async getStream(key: string, range?: ByteRange): Promise<Readable> {
        if (key.startsWith('data/')) throw new StrataError('E_PAUSED', 'sync was paused');
        return super.getStream(key, range);
      }
    }
    const repo = await openRepository(new PausedAtData(store));
    await assert.rejects(checkLayable(repo, [{ layer: 'org/dept', snapshot: v2.snapshotId, root: v2.snapshot.root }]), (err) => isStrataError(err, 'E_PAUSED'));
  });

  it('a failed check is reported and changes nothing; the next one switches', async (t) => {
    const { store, stateDir, publish, policy } = await laidOverV1(t);
    await publish('v2', 'policy v2');
    let refuse = true;
    // The bucket refuses the profile read while `refuse` holds.
    const flaky = new Proxy(store, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (prop !== 'get' || typeof v !== 'function') return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        return (key: string, ...rest: unknown[]) => {
          if (refuse && key.endsWith('/profile')) return Promise.reject(new Error('the bucket refused'));
          return (v as (...a: unknown[]) => unknown).call(target, key, ...rest);
        };
      },
    });
    const { follower, events, event } = await follow(t, stateDir, flaky);
    await event('check-failed');
    assert.match(String((events[0] as { error: unknown }).error), /the bucket refused/);
    assert.equal((await readSession(stateDir)).laid?.orgBefore, undefined, 'nothing recorded');
    refuse = false;
    await follower.check();
    await event('switched');
    assert.equal(await policy(), 'policy v2');
  });

  for (const damage of ['a folder whose tree is in no object', 'a file whose chunk is in no object'] as const) {
    it(`a version with ${damage} is refused: the check fails naming it, nothing is switched or removed, and sync goes on over the old one`, async (t) => {
      const { store, home, stateDir, policy } = await laidOverV1(t);
      const repo = await openRepository(store);
      const missing = 'e'.repeat(64);
      const documents =
        damage === 'a folder whose tree is in no object'
          ? missing
          : await repo.saveTree({ entries: [{ name: 'policy.txt', type: 'file', mode: 0o644, mtimeMs: 1, size: 9, chunks: [missing] }] });
      const root = await repo.saveTree({ entries: [{ name: 'Documents', type: 'dir', mode: 0o755, mtimeMs: 1, subtree: documents }] });
      await repo.flush();
      const v1 = (await repo.listHeads('org/dept')).heads[0]!;
      const time = new Date(Date.parse(v1.time) + 1000).toISOString();
      const v2 = await repo.saveSnapshot({ version: 1, layer: 'org/dept', device: v1.device, time, root, parents: [v1.snapshot] });
      await repo.writeHead('org/dept', v1.device, v2, time);
      let indexReads = 0;
      const counting = new Proxy(store, {
        get(target, prop, receiver) {
          const v = Reflect.get(target, prop, receiver) as unknown;
          if (typeof v !== 'function') return v;
          return (key: string, ...rest: unknown[]) => {
            if (prop === 'get' && key.startsWith('index/')) indexReads++;
            return (v as (...a: unknown[]) => unknown).call(target, key, ...rest);
          };
        },
      });
      const { agent, events, follower } = await follow(t, stateDir, store, counting);
      await follower.check();
      assert.deepEqual(events.map((e) => e.type), ['check-failed'], 'no switch begins');
      const error = (events[0] as { error: unknown }).error;
      assert.ok(isStrataError(error, 'E_ORG_VERSION_REFUSED') && error.message.includes(`org/dept version ${v2}`) && error.message.includes(missing), String(error));
      // Checked again, the version is refused again without reading the bucket's indexes anew.
      const reads = indexReads;
      await follower.check();
      assert.deepEqual(events.map((e) => e.type), ['check-failed', 'check-failed']);
      assert.equal((events[1] as { error: unknown }).error, error);
      assert.equal(indexReads, reads, 'the refused version was read again');
      assert.equal((await readSession(stateDir)).laid?.orgBefore, undefined, 'nothing recorded');
      // The agent syncs on over v1: a pass after the user's edit syncs, and the org file is still there.
      await writeFile(join(home, 'Documents/mine.txt'), 'the user wrote this');
      const passes = agent.passCount;
      agent.syncNow();
      while (agent.passCount === passes) await new Promise((r) => setTimeout(r, 20));
      assert.equal(agent.status().folders[0]?.error, undefined, JSON.stringify(agent.status().folders[0]?.error));
      assert.equal(await policy(), 'policy v1');
    });
  }

  it('an assigned layer laid here whose versions the bucket no longer shows is refused, not taken as unassigned: its files stay', async (t) => {
    const { store, stateDir, policy } = await laidOverV1(t);
    // The layer's heads are gone (a lifecycle rule, a bad cleanup, a listing that misses them); it is still assigned.
    for await (const o of store.list('layers/org/dept/heads/')) await store.delete(o.key);
    const { events, follower } = await follow(t, stateDir, store);
    await follower.check();
    assert.deepEqual(events.map((e) => e.type), ['check-failed'], 'no switch begins');
    const error = (events[0] as { error: unknown }).error;
    assert.ok(isStrataError(error, 'E_ORG_LAYER_GONE') && error.message.includes('org/dept'), String(error));
    assert.equal((await readSession(stateDir)).laid?.orgBefore, undefined, 'nothing recorded');
    assert.equal(await policy(), 'policy v1');
  });

  it('a profile gone missing on a machine that laid org layers is reported, not taken for an unassignment: the layers laid stay', async (t) => {
    const { store, stateDir, policy } = await laidOverV1(t);
    const laid = (await readSession(stateDir)).laid;
    // Deleted by mistake, or missed by the bucket's answer; an admin unassigns with a profile of no layers.
    await store.delete(profileKey('alice'));
    const { events, follower } = await follow(t, stateDir, store);
    await follower.check();
    assert.deepEqual(events.map((e) => e.type), ['check-failed'], 'no switch begins');
    const error = (events[0] as { error: unknown }).error;
    assert.ok(isStrataError(error, 'E_PROFILE_MISSING') && error.key === profileKey('alice'), String(error));
    assert.deepEqual((await readSession(stateDir)).laid, laid, 'nothing recorded');
    assert.equal(await policy(), 'policy v1');
  });

  it('a sign-in again over org layers laid here, with the profile gone missing, is refused before home changes', async (t) => {
    const { store, stateDir, policy } = await laidOverV1(t);
    await store.delete(profileKey('alice'));
    await assert.rejects(layHome({ store, session: await readSession(stateDir), stateDir }), (err) => isStrataError(err, 'E_PROFILE_MISSING') && err.key === profileKey('alice'));
    assert.equal(await policy(), 'policy v1');
  });

  it('a switch recorded before a restart is finished by the restarted agent', async (t) => {
    const { store, stateDir, publish, policy } = await laidOverV1(t);
    const v2 = await publish('v2', 'policy v2');
    // What the session holds when the agent stopped after recording the switch, before its pass.
    const session = await readSession(stateDir);
    const laid = session.laid!;
    await writeSession(stateDir, { ...session, laid: { ...laid, org: [{ layer: 'org/dept', snapshot: v2.snapshotId, root: v2.snapshot.root }], orgBefore: laid.org } });
    const { events, event } = await follow(t, stateDir, store);
    await event('switched');
    assert.deepEqual(
      events.map((e) => e.type),
      ['switched'],
    );
    assert.equal(await policy(), 'policy v2');
    assert.equal((await readSession(stateDir)).laid?.orgBefore, undefined);
  });
});
