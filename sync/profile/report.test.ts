// The admin's report of a user: a device's last sync is when the bucket got its head (the
// server's clock), whatever the device's own clock said.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Device, LAYER } from '../agent/testkit.js';
import { openRepository } from '../repo/index.js';
import { T0, newRepo } from '../repo/testkit.js';
import { keys } from '../repo/types.js';
import { takeSnapshot } from '../snapshot/index.js';
import { writeFiles } from '../snapshot/testkit.js';
import { CountingStore, noRequests } from '../store/counting.js';
import type { ByteRange, ListOptions, ObjectInfo } from '../store/index.js';
import type { MemoryStore } from '../store/memory.js';
import { orgLayerReport, preloadUserLayer, publishOrgLayer, userReport, userReports, writeProfile, type UserReport } from './index.js';

/** Counts each request by operation and key (`LIST layers/user/a/heads/`) besides the totals. */
class KeyedCountingStore extends CountingStore {
  readonly byKey = new Map<string, number>();

  private note(request: string): void {
    this.byKey.set(request, (this.byKey.get(request) ?? 0) + 1);
  }

  override get(key: string, range?: ByteRange): Promise<Uint8Array> {
    this.note(`GET ${key}`);
    return super.get(key, range);
  }

  override head(key: string): Promise<ObjectInfo | undefined> {
    this.note(`HEAD ${key}`);
    return super.head(key);
  }

  override list(prefix: string, opts?: ListOptions): AsyncIterable<ObjectInfo> {
    this.note(`LIST ${prefix}${opts?.startAfter === undefined ? '' : ` after ${opts.startAfter}`}`);
    return super.list(prefix, opts);
  }
}

describe('userReport', () => {
  it("gives each device's last sync by the bucket's clock, not by the device's", async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'strata-report-'));
    try {
      const { repo, store } = await newRepo();
      await writeFiles(tmp, { 'a.txt': 'a' });
      // A machine whose clock runs a year behind.
      const yearAgo = new Date(Date.now() - 365 * 86_400_000);
      await takeSnapshot(repo, { root: tmp, layer: 'user/gus', device: 'vdi-7', now: () => yearAgo });
      const written = new Map<string, number>();
      for await (const info of store.list(keys.heads('user/gus'))) written.set(info.key, info.modified!);
      const report = await userReport(repo, 'gus');
      const bucketTime = new Date(written.get(keys.head('user/gus', 'vdi-7'))!).toISOString();
      assert.deepEqual(report.devices.map((d) => [d.device, d.lastSync]), [['vdi-7', bucketTime]]);
      // The layer's latest snapshot too: when the bucket got it, beside the device's own time.
      assert.deepEqual([report.latest?.time, report.latest?.written], [yearAgo.toISOString(), bucketTime]);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it("dates an org layer's latest version by when the bucket got it, not by the admin's clock", async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'strata-report-'));
    try {
      const { repo, store } = await newRepo();
      await writeFiles(tmp, { 'policy.txt': 'p' });
      const yearAgo = new Date(Date.now() - 365 * 86_400_000);
      const v1 = await publishOrgLayer(repo, 'org/dept', { from: tmp, now: () => yearAgo });
      let modified: number | undefined;
      for await (const info of store.list(keys.heads('org/dept'))) modified = info.modified;
      const report = await orgLayerReport(repo, 'org/dept');
      assert.deepEqual([report.latest?.snapshot, report.latest?.time, report.latest?.written], [v1.snapshotId, yearAgo.toISOString(), new Date(modified!).toISOString()]);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  // The latest snapshot's summary gives the counts, and each kind of write makes its own: a sync
  // pass (agent), a preload, a snapshot. One layer's files must not change number with the next.
  it('counts the files of a layer the same whichever kind of write made its latest snapshot: regular files, not symlinks', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'strata-report-'));
    try {
      const { repo, store } = await newRepo();
      const fill = async (dir: string): Promise<void> => {
        await writeFiles(dir, { 'a.txt': 'aa', 'sub/b.txt': 'bbb' });
        await mkdir(join(dir, 'empty'));
        await symlink('a.txt', join(dir, 'link'));
        await symlink('../a.txt', join(dir, 'sub/link'));
      };
      const synced = await Device.create(tmp, 'pc1', store);
      try {
        await fill(synced.root);
        await synced.pass();
      } finally {
        await synced.close();
      }
      const template = join(tmp, 'template');
      await fill(template);
      await preloadUserLayer(repo, 'ann', { from: template });
      await takeSnapshot(repo, { root: template, layer: 'user/cat', device: 'pc2' });
      const reader = await openRepository(store);
      const counts = [];
      for (const user of [LAYER.slice('user/'.length), 'ann', 'cat']) {
        const latest = (await userReport(reader, user)).latest!;
        const summary = (await reader.loadSnapshot(`user/${user}`, latest.snapshot)).summary;
        counts.push({ user, files: latest.files, bytes: latest.bytes, dirs: summary?.dirs });
      }
      assert.deepEqual(counts, [
        { user: 'alice', files: 2, bytes: 5, dirs: 3 },
        { user: 'ann', files: 2, bytes: 5, dirs: 3 },
        { user: 'cat', files: 2, bytes: 5, dirs: 3 },
      ]);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it("lists each user's heads once: the devices, their last syncs and the latest snapshot all come from that one listing", async () => {
    await withUsers(['ann', 'bob', 'cat'], async (counting, reports) => {
      assert.deepEqual(reports.map((r) => [r.user, r.devices.length, r.snapshots, r.problems]), ['ann', 'bob', 'cat'].map((u) => [u, 3, 2, []]));
      assert.deepEqual(['ann', 'bob', 'cat'].map((u) => counting.byKey.get(`LIST ${keys.heads(`user/${u}`)}`)), [1, 1, 1]);
    });
  });

  // Every object read is still validated: the listings give only sizes, which cap the GETs as a
  // HEAD's did, and which snapshot is the latest (the newest head's) needs no other one read.
  it('costs each user a LIST and a GET per head, a GET of the profile and of the latest snapshot, and a LIST of the snapshots: no HEAD', async () => {
    await withUsers(['ann', 'bob', 'cat'], async (counting, reports) => {
      assert.deepEqual(reports.map((r) => [r.user, r.profile?.displayName, r.latest?.files, r.snapshots, r.problems]), ['ann', 'bob', 'cat'].map((u) => [u, u.toUpperCase(), 1, 2, []]));
      const ofUser = (user: string) =>
        [...counting.byKey]
          .filter(([request]) => request.includes(`/${user}/`) && !request.includes(' after '))
          .map(([request, n]) => `${request.replace(/\/[0-9a-f]{64}$/, '/<id>')} x${n}`)
          .sort();
      assert.deepEqual(ofUser('ann'), [
        'GET layers/user/ann/heads/pc1 x1',
        'GET layers/user/ann/heads/pc2 x1',
        'GET layers/user/ann/heads/pc3 x1',
        'GET layers/user/ann/snapshots/<id> x1',
        'GET users/ann/profile x1',
        'LIST layers/user/ann/heads/ x1',
        'LIST layers/user/ann/snapshots/ x1',
      ]);
      // Besides: the users, from one LIST of every user layer and one of every profile.
      const { gets, heads, lists } = counting.counts;
      assert.deepEqual({ gets, heads, lists }, { gets: 3 * 5, heads: 0, lists: 3 * 2 + 1 + 1 });
    });
  });

  it("notes a user's one broken head once, though no snapshot can be found without it", async () => {
    await withUsers(['ann', 'bob'], async (_counting, reports) => {
      const bob = reports.find((r) => r.user === 'bob')!;
      assert.deepEqual(bob.problems.map((p) => p.key), [keys.head('user/bob', 'pc1')]);
      assert.equal(bob.latest, null);
      assert.deepEqual(reports.find((r) => r.user === 'ann')?.problems, []);
    }, (store) => {
      for (const device of ['pc2', 'pc3']) store.corrupt(keys.head('user/bob', device), () => undefined);
      store.corrupt(keys.head('user/bob', 'pc1'), () => Buffer.from('garbage'));
    });
  });

  it("reads a snapshot that several devices' heads point at once, and makes no request twice", async () => {
    await withUsers(['ann', 'bob', 'cat'], async (counting, reports) => {
      assert.deepEqual(reports.map((r) => r.latest?.snapshot), reports.map((r) => r.devices.find((d) => d.device === 'pc3')?.snapshot));
      assert.deepEqual([...counting.byKey].filter(([, n]) => n > 1), []);
    });
  });
});

/**
 * `users`, each with a profile and three devices, the third of which took the second's snapshot
 * and wrote nothing since (its head points at it), reported by `userReports` through a store
 * that counts each request from the report on.
 */
async function withUsers(
  users: string[],
  check: (counting: KeyedCountingStore, reports: UserReport[], store: MemoryStore) => Promise<void>,
  damage: (store: MemoryStore) => void = () => {},
): Promise<void> {
  const tmp = await mkdtemp(join(tmpdir(), 'strata-report-'));
  try {
    const { repo, store } = await newRepo();
    for (const [i, user] of users.entries()) {
      const layer = `user/${user}`;
      await writeProfile(store, { version: 1, user, displayName: user.toUpperCase(), layers: [], updated: new Date(0).toISOString() });
      await writeFiles(tmp, { 'a.txt': `${user} ${i}` });
      await takeSnapshot(repo, { root: tmp, layer, device: 'pc1', now: () => new Date(T0.getTime() + 1000) });
      const second = await takeSnapshot(repo, { root: tmp, layer, device: 'pc2', now: () => new Date(T0.getTime() + 2000) });
      await repo.writeHead(layer, 'pc3', second.snapshotId, new Date(T0.getTime() + 2000).toISOString());
    }
    damage(store);
    const counting = new KeyedCountingStore(store);
    const reader = await openRepository(counting);
    counting.byKey.clear();
    Object.assign(counting.counts, noRequests());
    await check(counting, (await userReports(reader)).users, store);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
