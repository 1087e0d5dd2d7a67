// Preload and publish on a MemoryStore: a template becomes a user layer; a second template
// extends it (files only the layer has stay; on a shared path of a layer a device synced that no
// earlier template wrote, both versions are kept, whatever the kinds: preload-merge.test.ts has
// the three-way merge); a template that adds nothing writes nothing; org layer versions chain by
// parent.
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { check, type Repository } from '../repo/index.js';
import { T0, newRepo, rejectsWith, keysUnder } from '../repo/testkit.js';
import type { BlobId } from '../repo/types.js';
import { takeSnapshot } from '../snapshot/index.js';
import { aheadOfDisk, fileBytes, writeFiles } from '../snapshot/testkit.js';
import { overlay } from '../overlay/index.js';
import type { Node } from '../plan/index.js';
import { ADMIN_DEVICE, preloadUserLayer, publishOrgLayer, writeProfile } from './index.js';

const T1 = new Date('2024-05-02T10:00:00.000Z');
const T2 = new Date('2024-05-03T10:00:00.000Z');

/** path → 'dir', 'whiteout', 'link -> target' or the file's text. */
async function contents(repo: Repository, root: BlobId, rel = '', out: Record<string, string> = {}): Promise<Record<string, string>> {
  for (const e of (await repo.loadTree(root)).entries) {
    const path = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.type === 'dir') {
      out[path] = 'dir';
      await contents(repo, e.subtree, path, out);
    } else if (e.type === 'file') out[path] = (await fileBytes(repo, e.chunks)).toString();
    else if (e.type === 'symlink') out[path] = `link -> ${e.target}`;
    else out[path] = 'whiteout';
  }
  return out;
}

/** A `contents` listing as a flat tree whose file contents are their texts. */
function flatOf(listing: Record<string, string>): Map<string, Node> {
  const node = (text: string): Node =>
    text === 'dir' ? { type: 'dir', mode: 0o755 } : text === 'whiteout' ? { type: 'whiteout' } : { type: 'file', size: text.length, mtimeMs: 0, mode: 0o644, content: text };
  return new Map(Object.entries(listing).map(([p, text]) => [p, node(text)]));
}

async function headOf(repo: Repository, layer: string, device: string) {
  return (await repo.listHeads(layer)).heads.find((h) => h.device === device);
}

describe('preloadUserLayer', () => {
  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'strata-preload-'));
  });
  after(() => rm(tmp, { recursive: true, force: true }));

  it('creates a user layer from a template: a normal snapshot and the admin head', async () => {
    const { repo } = await newRepo();
    const template = join(tmp, 'new-hire');
    await writeFiles(template, { 'Desktop/welcome.txt': 'welcome', '.config/app/settings.ini': 'a=1', 'README': 'read me' });
    const r = await preloadUserLayer(repo, 'alice', { from: template, now: () => T1 });
    assert.equal(r.layer, 'user/alice');
    assert.equal(r.changed, true);
    assert.equal(r.extended, undefined);
    assert.deepEqual(r.snapshot.parents, []);
    assert.equal(r.snapshot.device, ADMIN_DEVICE);
    assert.equal(r.snapshot.time, T1.toISOString());
    assert.deepEqual(r.snapshot.summary, { files: 3, dirs: 4, bytes: 7 + 3 + 7, bytesAdded: r.stats.bytesAdded });
    assert.equal((await headOf(repo, 'user/alice', 'admin'))?.snapshot, r.snapshotId);
    assert.deepEqual(await contents(repo, r.snapshot.root), {
      '.config': 'dir',
      '.config/app': 'dir',
      '.config/app/settings.ini': 'a=1',
      Desktop: 'dir',
      'Desktop/welcome.txt': 'welcome',
      README: 'read me',
    });
    const report = await check(repo, { readData: true });
    assert.deepEqual(report.problems, []);
  });

  it("extends a layer a device has synced: old files stay, a template version over the user's is kept beside it", async () => {
    const { repo } = await newRepo();
    const laptop = join(tmp, 'laptop');
    await writeFiles(laptop, { 'notes.txt': 'mine', 'docs/a.txt': 'old a', 'docs/keep.txt': 'keep', 'settings/x.ini': 'x', 'same.txt': 'same' });
    const synced = await takeSnapshot(repo, { root: laptop, layer: 'user/bob', device: 'laptop1', now: () => T0 });
    const template = join(tmp, 'tpl2');
    await writeFiles(template, { 'docs/a.txt': 'new a', 'docs/new.txt': 'new', settings: 'now a file', 'Desktop/hello.txt': 'hi', 'same.txt': 'same' }, T1);
    const r = await preloadUserLayer(repo, 'bob', { from: template, now: () => T1 });
    assert.equal(r.changed, true);
    assert.equal(r.extended, synced.snapshotId);
    // The layer's latest, then the template record (preload-merge.ts).
    assert.equal(r.snapshot.parents.length, 2);
    assert.equal(r.snapshot.parents[0], synced.snapshotId);
    assert.deepEqual(await contents(repo, r.snapshot.root), {
      Desktop: 'dir',
      'Desktop/hello.txt': 'hi',
      docs: 'dir',
      'docs/a.txt': 'old a',
      'docs/a.sync-conflict-20240502-100000-admin.txt': 'new a',
      'docs/keep.txt': 'keep',
      'docs/new.txt': 'new',
      'notes.txt': 'mine',
      'same.txt': 'same',
      settings: 'dir',
      'settings/x.ini': 'x',
      'settings.sync-conflict-20240502-100000-admin': 'now a file',
    });
    assert.deepEqual(r.kept, [
      { path: 'docs/a.txt', copy: 'docs/a.sync-conflict-20240502-100000-admin.txt', copyOf: 'template' },
      { path: 'settings', copy: 'settings.sync-conflict-20240502-100000-admin', copyOf: 'template' },
    ]);
    assert.equal(r.snapshot.summary?.files, 9);
    assert.equal(r.snapshot.summary?.bytes, 2 + 5 + 5 + 4 + 3 + 4 + 4 + 1 + 10);
    // The device's head is untouched; the admin's is new.
    assert.equal((await headOf(repo, 'user/bob', 'laptop1'))?.snapshot, synced.snapshotId);
    assert.equal((await headOf(repo, 'user/bob', 'admin'))?.snapshot, r.snapshotId);
    assert.deepEqual((await check(repo, { readData: true })).problems, []);

    // A second template over the preloaded layer builds on the admin's snapshot (now the latest).
    // The user's version differs from what the last template wrote there: both kept again, the
    // user's (newer) at the name, the new template version's copy in place of the last one's.
    const third = join(tmp, 'tpl3');
    await writeFiles(third, { 'docs/a.txt': 'newest a' }, T2);
    const r3 = await preloadUserLayer(repo, 'bob', { from: third, now: () => T2 });
    assert.equal(r3.snapshot.parents[0], r.snapshotId);
    const after3 = await contents(repo, r3.snapshot.root);
    assert.equal(after3['docs/a.txt'], 'old a');
    assert.equal(after3['docs/a.sync-conflict-20240502-100000-admin.txt'], undefined);
    assert.equal(after3[r3.kept[0]?.copy ?? ''], 'newest a');
    assert.equal(after3['notes.txt'], 'mine');
    assert.equal(after3['settings.sync-conflict-20240502-100000-admin'], 'now a file');
  });

  it('a template the layer already holds writes nothing', async () => {
    const { repo, store } = await newRepo();
    const template = join(tmp, 'tpl-same');
    await writeFiles(template, { 'a.txt': 'a', 'd/b.txt': 'b' });
    const first = await preloadUserLayer(repo, 'carol', { from: template, now: () => T1 });
    const before = await keysUnder(store, 'layers/');
    const again = await preloadUserLayer(repo, 'carol', { from: template, now: () => T2 });
    assert.equal(again.changed, false);
    assert.equal(again.snapshotId, first.snapshotId);
    assert.deepEqual(await keysUnder(store, 'layers/'), before);
  });

  it('replaces a whiteout the template has a file for, and keeps the others', async () => {
    const { repo } = await newRepo();
    const wo = await repo.saveTree({ entries: [{ name: 'gone.txt', type: 'whiteout' }, { name: 'hidden.txt', type: 'whiteout' }] });
    await repo.flush();
    const id = await repo.saveSnapshot({ version: 1, layer: 'user/dan', device: 'pc', time: T0.toISOString(), root: wo, parents: [] });
    await repo.writeHead('user/dan', 'pc', id);
    const template = join(tmp, 'tpl-wo');
    await writeFiles(template, { 'gone.txt': 'back' });
    const r = await preloadUserLayer(repo, 'dan', { from: template, now: () => T1 });
    assert.deepEqual(await contents(repo, r.snapshot.root), { 'gone.txt': 'back', 'hidden.txt': 'whiteout' });
  });

  it("adds the template's files to a folder the user deleted without bringing back what the org layers had there", async () => {
    const { repo, store } = await newRepo();
    const org = join(tmp, 'org-dept');
    await writeFiles(org, {
      'Documents/Policies/p1.txt': 'p1',
      'Documents/Policies/keep/k.txt': 'k',
      'Documents/Policies/sub/p3.txt': 'p3',
      'Documents/notes/n.txt': 'n',
      'Documents/shared/o.txt': 'o',
      'Documents/other.txt': 'other',
    });
    const published = await publishOrgLayer(repo, 'org/dept', { from: org, now: () => T0 });
    await writeProfile(store, { version: 1, user: 'fay', displayName: '', layers: ['org/dept'], updated: T0.toISOString() });
    // The user deleted the folder Documents/Policies and put a file where the folder notes was.
    const mtimeMs = T0.getTime();
    const docs = await repo.saveTree({
      entries: [
        { name: 'Policies', type: 'whiteout' },
        { name: 'notes', type: 'file', mode: 0o644, mtimeMs, size: 0, chunks: [] },
      ],
    });
    const root = await repo.saveTree({ entries: [{ name: 'Documents', type: 'dir', mode: 0o755, mtimeMs, subtree: docs }] });
    await repo.flush();
    const id = await repo.saveSnapshot({ version: 1, layer: 'user/fay', device: 'pc', time: T0.toISOString(), root, parents: [] });
    await repo.writeHead('user/fay', 'pc', id);

    const template = join(tmp, 'tpl-deleted');
    await writeFiles(template, { 'Documents/Policies/welcome.txt': 'welcome', 'Documents/Policies/sub/new.txt': 'new', 'Documents/notes/t.txt': 't', 'Documents/shared/t.txt': 't' });
    const r = await preloadUserLayer(repo, 'fay', { from: template, now: () => T1 });
    const user = await contents(repo, r.snapshot.root);
    const seen = await contents(repo, published.snapshot.root);
    // What a sign-in shows: the org layer, then the user layer over it.
    const shown = overlay([flatOf(seen), flatOf(user)]);
    assert.deepEqual(Object.fromEntries([...shown].filter(([, n]) => n.type === 'file').map(([p, n]) => [p, n.type === 'file' ? n.content : ''])), {
      'Documents/Policies/welcome.txt': 'welcome',
      'Documents/Policies/sub/new.txt': 'new',
      'Documents/notes/t.txt': 't',
      // The user's file where the template has a folder: kept beside it (the folder keeps the name).
      'Documents/notes.sync-conflict-20240501-100000-pc': '',
      'Documents/shared/o.txt': 'o',
      'Documents/shared/t.txt': 't',
      'Documents/other.txt': 'other',
    });
    assert.deepEqual(r.kept, [{ path: 'Documents/notes', copy: 'Documents/notes.sync-conflict-20240501-100000-pc', copyOf: 'layer' }]);
  });

  it("leaves out, and lists, what lies outside the org config's folders: no machine ever lays it", async () => {
    const { repo } = await newRepo();
    const template = join(tmp, 'outside-folders');
    await writeFiles(template, { 'Desktop/welcome.txt': 'hi', 'Documents/r.txt': 'r', '.config/app/s.ini': 's', '.config/other/x': 'x', README: 'read me' });
    const folders = ['Documents', '.config/app'];
    const expected = { '.config': 'dir', '.config/app': 'dir', '.config/app/s.ini': 's', Documents: 'dir', 'Documents/r.txt': 'r' };
    const pre = await preloadUserLayer(repo, 'olive', { from: template, folders });
    assert.deepEqual(await contents(repo, pre.snapshot.root), expected);
    assert.deepEqual(pre.excluded, ['.config/other/', 'Desktop/', 'README']);
    const pub = await publishOrgLayer(repo, 'org/olive', { from: template, folders });
    assert.deepEqual(await contents(repo, pub.snapshot.root), expected);
    assert.deepEqual(pub.excluded, ['.config/other/', 'Desktop/', 'README']);
    const whole = await preloadUserLayer(repo, 'oscar', { from: template, folders: ['.'] });
    assert.deepEqual(whole.excluded, []);
  });

  it('refuses a missing template, a bad user id, and a layer whose heads cannot be read', async () => {
    const { repo, store } = await newRepo();
    await rejectsWith(preloadUserLayer(repo, 'erin', { from: join(tmp, 'nope') }), 'E_NO_ROOT');
    await rejectsWith(preloadUserLayer(repo, '../erin', { from: tmp }), 'E_BAD_USER');
    await rejectsWith(preloadUserLayer(repo, 'erin', { from: tmp, device: 'no/slash' }), 'E_BAD_DEVICE');
    // Not an admin device id: the preload's head would read as one of the user's devices.
    await rejectsWith(preloadUserLayer(repo, 'erin', { from: tmp, device: 'pc' }), 'E_BAD_DEVICE');
    // Extending a layer that cannot be read would drop its files: it must fail, not start afresh.
    await store.put('layers/user/erin/heads/pc', Buffer.from('{not json'));
    const template = join(tmp, 'tpl-e');
    await writeFiles(template, { 'a.txt': 'a' });
    await rejectsWith(preloadUserLayer(repo, 'erin', { from: template }), 'E_BAD_OBJECT', 'layers/user/erin/heads/pc');
    assert.deepEqual(await keysUnder(store, 'layers/user/erin/snapshots/'), []);
  });
  it('dates its snapshot no older than the one it extends, whatever the admin\'s clock says', async () => {
    const { repo } = await newRepo();
    const first = join(tmp, 'clock-first');
    const second = join(tmp, 'clock-second');
    await writeFiles(first, { 'a.txt': 'a' });
    await writeFiles(second, { 'b.txt': 'b' });
    const r1 = await preloadUserLayer(repo, 'carol', { from: first, now: () => T2 });
    // The admin's clock runs a day behind the snapshot it extends.
    const r2 = await preloadUserLayer(repo, 'carol', { from: second, now: () => T1 });
    assert.equal(r2.snapshot.parents[0], r1.snapshotId);
    assert.ok(Date.parse(r2.snapshot.time) > Date.parse(r1.snapshot.time), `${r2.snapshot.time} after ${r1.snapshot.time}`);
    assert.equal((await repo.latestSnapshot('user/carol'))?.id, r2.snapshotId, 'the extended layer is the latest');
  });
});

describe('publishOrgLayer', () => {
  it('dates a new version no older than the last one, whatever the admin\'s clock says: it is the latest', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'strata-publish-clock-'));
    try {
      const { repo } = await newRepo();
      await writeFiles(join(tmp, 'v1'), { 'a.txt': 'v1' });
      await writeFiles(join(tmp, 'v2'), { 'a.txt': 'v2' });
      const v1 = await publishOrgLayer(repo, 'org/base', { from: join(tmp, 'v1'), now: () => T2 });
      // Published from a machine whose clock runs a day behind.
      const v2 = await publishOrgLayer(repo, 'org/base', { from: join(tmp, 'v2'), now: () => T1 });
      assert.ok(Date.parse(v2.snapshot.time) > Date.parse(v1.snapshot.time), `${v2.snapshot.time} after ${v1.snapshot.time}`);
      assert.equal((await repo.latestSnapshot('org/base'))?.id, v2.snapshotId, 'the new version is the latest');
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('builds a new version on the latest one, whichever admin device published it: dated after it, it is the latest', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'strata-publish-admins-'));
    try {
      const { repo } = await newRepo();
      for (const v of ['v1', 'v2', 'v3']) await writeFiles(join(tmp, v), { 'a.txt': v });
      const v1 = await publishOrgLayer(repo, 'org/base', { from: join(tmp, 'v1'), now: () => T1 });
      // A second admin publishes with their own device id, from a machine a day ahead.
      const v2 = await publishOrgLayer(repo, 'org/base', { from: join(tmp, 'v2'), device: 'admin-ops', now: () => T2 });
      const v3 = await publishOrgLayer(repo, 'org/base', { from: join(tmp, 'v3'), now: () => T1 });
      assert.deepEqual(v2.snapshot.parents, [v1.snapshotId]);
      assert.deepEqual(v3.snapshot.parents, [v2.snapshotId]);
      assert.equal((await repo.latestSnapshot('org/base'))?.id, v3.snapshotId, 'the newest publish is the latest version');
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('publishing what the latest version already holds writes nothing: no version that every machine would switch to for nothing', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'strata-publish-same-'));
    try {
      const { repo, store } = await newRepo();
      await writeFiles(join(tmp, 'v1'), { 'a.txt': 'a', 'd/b.txt': 'b' });
      const v1 = await publishOrgLayer(repo, 'org/base', { from: join(tmp, 'v1'), now: () => T1 });
      assert.equal(v1.changed, true);
      const before = await keysUnder(store, 'layers/');
      const again = await publishOrgLayer(repo, 'org/base', { from: join(tmp, 'v1'), device: 'admin-ops', now: () => T2 });
      assert.equal(again.changed, false);
      assert.equal(again.snapshotId, v1.snapshotId);
      assert.deepEqual(await keysUnder(store, 'layers/'), before);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it("reads every file of a new version: one with the last version's name, size and mtime but other bytes is published as it is", async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'strata-publish-'));
    try {
      const { repo } = await newRepo();
      await writeFiles(join(tmp, 'v1'), { 'policy.txt': 'version 1' });
      await writeFiles(join(tmp, 'v2'), { 'policy.txt': 'VERSION 2' });
      const mtime = new Date('2024-05-01T08:00:00.000Z');
      for (const v of ['v1', 'v2']) await utimes(join(tmp, v, 'policy.txt'), mtime, mtime);
      await publishOrgLayer(repo, 'org/hr', { from: join(tmp, 'v1'), now: () => T1 });
      const v2 = await publishOrgLayer(repo, 'org/hr', { from: join(tmp, 'v2'), now: () => T2 });
      assert.deepEqual(await contents(repo, v2.snapshot.root), { 'policy.txt': 'VERSION 2' });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('publishes a same-size edit of the folder whose mtime was set back since the last version (touch -r, rsync -t, cp -p)', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'strata-publish-'));
    try {
      const { repo } = await newRepo();
      const policy = join(tmp, 'policy.txt');
      const mtime = new Date('2024-05-01T08:00:00.000Z');
      await writeFiles(tmp, { 'policy.txt': 'version 1' }, mtime);
      // Clocks ahead of the disk's: even the edit's ctime lies well before either version started.
      const start = aheadOfDisk().getTime();
      await publishOrgLayer(repo, 'org/hr', { from: tmp, now: () => new Date(start) });
      await writeFiles(tmp, { 'policy.txt': 'VERSION 2' }, mtime);
      assert.equal((await stat(policy)).mtimeMs, mtime.getTime());
      const v2 = await publishOrgLayer(repo, 'org/hr', { from: tmp, now: () => new Date(start + 60_000) });
      assert.equal(v2.changed, true);
      assert.deepEqual(await contents(repo, v2.snapshot.root), { 'policy.txt': 'VERSION 2' });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('publishes versions that chain by parent, each replacing the content', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'strata-publish-'));
    try {
      const { repo } = await newRepo();
      await writeFiles(join(tmp, 'v1'), { 'bookmarks.html': 'v1', 'old.txt': 'old' });
      await writeFiles(join(tmp, 'v2'), { 'bookmarks.html': 'v2' });
      const v1 = await publishOrgLayer(repo, 'org/finance', { from: join(tmp, 'v1'), now: () => T1 });
      const v2 = await publishOrgLayer(repo, 'org/finance', { from: join(tmp, 'v2'), now: () => T2 });
      assert.deepEqual(v1.snapshot.parents, []);
      assert.deepEqual(v2.snapshot.parents, [v1.snapshotId]);
      assert.equal(v2.snapshot.device, 'admin');
      assert.deepEqual(await contents(repo, v2.snapshot.root), { 'bookmarks.html': 'v2' });
      assert.equal((await repo.latestSnapshot('org/finance'))?.id, v2.snapshotId);
      await rejectsWith(publishOrgLayer(repo, 'user/alice', { from: join(tmp, 'v1') }), 'E_BAD_LAYER');
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it("under the org's caseInsensitive, a folder that holds README.txt and Readme.txt is published with one of the names, the other as its conflict copy, listed; published again, nothing changes", async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'strata-publish-case-'));
    try {
      const { repo } = await newRepo();
      await writeFiles(join(tmp, 'v1'), { 'README.txt': 'upper', 'Readme.txt': 'mixed', 'docs/a.txt': 'a', 'Docs/b.txt': 'b' });
      const v1 = await publishOrgLayer(repo, 'org/dept', { from: join(tmp, 'v1'), now: () => T1, caseInsensitive: true });
      const names = Object.keys(await contents(repo, v1.snapshot.root));
      assert.equal(names.filter((n) => n.toLowerCase() === 'readme.txt').length, 1, JSON.stringify(names));
      assert.equal(names.filter((n) => n.toLowerCase() === 'docs').length, 1, `one folder holds both: ${JSON.stringify(names)}`);
      assert.deepEqual(v1.kept.map((k) => [k.path, k.caseOf]), [['Readme.txt', 'README.txt']]);
      assert.ok(names.includes(v1.kept[0]?.copy as string), JSON.stringify(names));
      const again = await publishOrgLayer(repo, 'org/dept', { from: join(tmp, 'v1'), now: () => T2, caseInsensitive: true });
      assert.equal(again.changed, false);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
