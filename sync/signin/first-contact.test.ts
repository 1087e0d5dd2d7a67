// First contact at sign-in (layHome on a memory store): keep-both moves differing local versions
// aside as conflict copies, layer-wins replaces them; whiteouts remove what the machine had;
// paths the layer does not know, and equal files, are left alone.
import assert from 'node:assert/strict';
import { lstat, readFile, readdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { parseOrgConfig, type FirstContactPolicy } from '../../shared/org-config.js';
import { writeTree, type Spec } from '../cli/testkit.js';
import { preloadUserLayer, publishOrgLayer, writeProfile } from '../profile/index.js';
import type { Repository } from '../repo/index.js';
import type { DiskNode } from '../plan/index.js';
import { FORMAT_VERSION, type TreeEntry } from '../repo/types.js';
import type { MemoryStore } from '../store/memory.js';
import { caseInsensitiveDir } from '../testing/case-insensitive-disk.js';
import { firstContact, type FirstContactResult } from './first-contact.js';
import { layHome, type LayResult } from './lay.js';
import { readSession, writeSession, type Session } from './session.js';
import { memoryBucket } from './testkit.js';

const LAYER_FILES: Spec = { Documents: { 'report.txt': 'layer report', 'same.txt': 'same everywhere', thing: 'a file in the layer', 'org.txt': 'org file', 'gone.txt': 'org version' } };

interface Setup {
  home: string;
  stateDir: string;
  store: MemoryStore;
  repo: Repository;
  session: Session;
}

async function setup(t: TestContext, policy: FirstContactPolicy, local: Spec, home?: string): Promise<Setup> {
  const { dir, store, repo } = await memoryBucket(t, 'first-contact');
  const src = join(dir, 'layer');
  await writeTree(src, LAYER_FILES);
  await publishOrgLayer(repo, 'org/base', { from: src });
  await writeProfile(store, { version: 1, user: 'alice', displayName: '', layers: ['org/base'], updated: new Date().toISOString() });
  await preloadUserLayer(repo, 'alice', { from: src });
  // The user deleted org.txt and gone.txt on another machine: whiteouts in the user layer.
  const latest = await repo.latestSnapshot('user/alice');
  assert.ok(latest);
  const rootTree = await repo.loadTree(latest.snapshot.root);
  const docs = rootTree.entries[0];
  assert.equal(docs?.type, 'dir');
  if (docs?.type !== 'dir') return assert.fail();
  const inner = (await repo.loadTree(docs.subtree)).entries.filter((e) => e.name !== 'org.txt' && e.name !== 'gone.txt');
  const whiteouts: TreeEntry[] = [{ name: 'gone.txt', type: 'whiteout' }, { name: 'org.txt', type: 'whiteout' }];
  const sub = await repo.saveTree({ entries: [...inner, ...whiteouts].sort((a, b) => (a.name < b.name ? -1 : 1)) });
  const root = await repo.saveTree({ entries: [{ ...docs, subtree: sub }] });
  await repo.flush();
  const id = await repo.saveSnapshot({ version: FORMAT_VERSION, layer: 'user/alice', device: 'other', time: new Date(Date.now() + 1000).toISOString(), root, parents: [latest.id] });
  await repo.writeHead('user/alice', 'other', id);

  home ??= join(dir, 'home');
  const stateDir = join(dir, 'state');
  await writeTree(home, local);
  const org = parseOrgConfig({ version: 1, org: 'acme', store: { bucket: 'acme-strata' }, policies: { firstContact: policy }, folders: ['Documents'] }, 'test');
  const session: Session = { version: 1, source: 'test', org, user: 'alice', home, mode: org.mode, device: 'pc1', signedIn: new Date().toISOString() };
  await writeSession(stateDir, session);
  return { home, stateDir, store, repo, session };
}

function lay(s: Setup, caseInsensitive?: boolean): Promise<LayResult> {
  return layHome({ store: s.store, session: s.session, stateDir: s.stateDir, ...(caseInsensitive === undefined ? {} : { caseInsensitive }) });
}

const LOCAL: Spec = {
  Documents: { 'report.txt': 'my local report', 'same.txt': 'same everywhere', thing: { 'inside.txt': 'a local folder' }, 'org.txt': 'org file', 'gone.txt': 'my own gone.txt', 'mine.txt': 'only here' },
  Downloads: { 'report.txt': 'outside the layer' },
};

describe('first contact', () => {
  it('keep-both: a differing local version becomes a conflict copy; equal and unknown files stay', async (t) => {
    const s = await setup(t, 'keep-both', LOCAL);
    const r = await lay(s);
    const docs = join(s.home, 'Documents');
    assert.equal(await readFile(join(docs, 'report.txt'), 'utf8'), 'layer report');
    assert.equal(await readFile(join(docs, 'thing'), 'utf8'), 'a file in the layer');
    assert.equal(await readFile(join(docs, 'mine.txt'), 'utf8'), 'only here');
    assert.equal(await readFile(join(s.home, 'Downloads/report.txt'), 'utf8'), 'outside the layer');
    const copies = r.conflicts.map((c) => c.path).sort();
    assert.deepEqual(copies, ['Documents/gone.txt', 'Documents/report.txt', 'Documents/thing']);
    for (const c of r.conflicts) assert.match(c.copy, /\.sync-conflict-\d{8}-\d{6}-pc1/);
    const report = r.conflicts.find((c) => c.path === 'Documents/report.txt');
    assert.equal(await readFile(join(s.home, report?.copy ?? ''), 'utf8'), 'my local report');
    const thing = r.conflicts.find((c) => c.path === 'Documents/thing');
    assert.equal(await readFile(join(s.home, thing?.copy ?? '', 'inside.txt'), 'utf8'), 'a local folder');
    // Hidden by the user's whiteouts: the pristine org copy is removed, a local edit moved aside.
    assert.deepEqual(r.removed, ['Documents/org.txt']);
    const names = await readdir(docs);
    assert.ok(!names.includes('org.txt') && !names.includes('gone.txt'), names.join(' '));
    assert.equal((await readSession(s.stateDir)).laid?.org[0]?.layer, 'org/base');
  });

  it('layer-wins: the layer replaces differing local versions, no copies; hidden paths are removed', async (t) => {
    const s = await setup(t, 'layer-wins', LOCAL);
    const r = await lay(s);
    const docs = join(s.home, 'Documents');
    assert.deepEqual(r.conflicts, []);
    assert.deepEqual(r.removed.sort(), ['Documents/gone.txt', 'Documents/org.txt', 'Documents/thing']);
    assert.deepEqual((await readdir(docs)).sort(), ['mine.txt', 'report.txt', 'same.txt', 'thing']);
    assert.equal(await readFile(join(docs, 'report.txt'), 'utf8'), 'layer report');
    assert.equal(await readFile(join(docs, 'thing'), 'utf8'), 'a file in the layer');
    assert.equal(await readFile(join(s.home, 'Downloads/report.txt'), 'utf8'), 'outside the layer');
    assert.ok(r.bytesSeeded + r.bytesReused > 0, 'local files seed the restore');
  });

  // First contact removes `thing` (a folder where the layer has a file): it changed Documents, so
  // hands its listing on as `seen` (not `listed`); the image's file and link there are still the
  // image's, which the layer replaces — not newcomers to keep.
  it('layer-wins: the image\'s file or link where the layer has a folder, in a folder first contact changed, is replaced, no copies', { skip: process.platform === 'win32' && 'symlinks need privileges' }, async (t) => {
    const { dir, store, repo } = await memoryBucket(t, 'first-contact-folders');
    await writeTree(join(dir, 'template'), { Documents: { sub: { 'b.txt': 'the layer: b' }, lnk: { 'c.txt': 'the layer: c' }, thing: 'a file in the layer' } });
    await writeProfile(store, { version: 1, user: 'alice', displayName: '', layers: [], updated: new Date().toISOString() });
    await preloadUserLayer(repo, 'alice', { from: join(dir, 'template') });
    const home = join(dir, 'home');
    await writeTree(home, { Documents: { sub: 'the image: a file', lnk: { link: 'somewhere' }, thing: { 'inside.txt': 'the image: a folder' } } });
    const stateDir = join(dir, 'state');
    const org = parseOrgConfig({ version: 1, org: 'acme', store: { bucket: 'acme-strata' }, policies: { firstContact: 'layer-wins' }, folders: ['Documents'] }, 'test');
    const session: Session = { version: 1, source: 'test', org, user: 'alice', home, mode: org.mode, device: 'pc1', signedIn: new Date().toISOString() };
    await writeSession(stateDir, session);
    const r = await layHome({ store, session, stateDir });
    const docs = join(home, 'Documents');
    assert.deepEqual(r.conflicts, []);
    assert.deepEqual((await readdir(docs)).sort(), ['lnk', 'sub', 'thing']);
    assert.equal(await readFile(join(docs, 'sub/b.txt'), 'utf8'), 'the layer: b');
    assert.equal(await readFile(join(docs, 'lnk/c.txt'), 'utf8'), 'the layer: c');
    assert.equal(await readFile(join(docs, 'thing'), 'utf8'), 'a file in the layer');
  });

  for (const policy of ['keep-both', 'layer-wins'] as const) {
    it(`${policy}: a link where the layer has a folder is never followed`, async (t) => {
      const s = await setup(t, policy, {});
      const outside = join(s.home, '..', 'outside');
      await writeTree(outside, { 'report.txt': 'not in home', thing: { 'inside.txt': 'not in home either' } });
      await symlink(outside, join(s.home, 'Documents'));
      const r = await lay(s);
      assert.deepEqual(await readdir(outside), ['report.txt', 'thing']);
      assert.equal(await readFile(join(outside, 'report.txt'), 'utf8'), 'not in home');
      assert.ok((await lstat(join(s.home, 'Documents'))).isDirectory());
      assert.equal(await readFile(join(s.home, 'Documents/report.txt'), 'utf8'), 'layer report');
      if (policy === 'keep-both') {
        assert.deepEqual(r.conflicts.map((c) => c.path), ['Documents']);
        assert.ok((await lstat(join(s.home, r.conflicts[0]?.copy ?? ''))).isSymbolicLink());
      } else assert.deepEqual(r.conflicts, []);
    });
  }

  it('a second sign-in on the same machine makes no conflict copies of what the first one laid', async (t) => {
    const s = await setup(t, 'keep-both', {});
    await lay(s);
    const again = await lay({ ...s, session: await readSession(s.stateDir) });
    assert.deepEqual([again.conflicts, again.removed, again.bytesDownloaded], [[], [], 0]);
  });
});

// Local names that differ from the layer's only in case are the layer's paths on a case-insensitive
// disk (Windows, macOS): what differs goes aside like any other local version, what is equal stays.
const LOCAL_OTHER_CASE: Spec = {
  documents: { 'REPORT.txt': 'my local report', 'Same.txt': 'same everywhere', THING: { 'inside.txt': 'a local folder' }, 'Mine.txt': 'only here' },
};

describe('first contact on a case-insensitive disk', () => {
  // On an ordinary disk, told it is case-insensitive: what matters is that first contact looks the
  // layer's names up folded and acts on the disk's own names.
  const file = (content: string): DiskNode => ({ type: 'file', size: content.length, mtimeMs: 0, mode: 0o644, content });
  const tree = new Map<string, DiskNode>([
    ['Documents', { type: 'dir', mode: 0o755 }],
    ['Documents/report.txt', file('layer report')],
    ['Documents/same.txt', file('same everywhere')],
    ['Documents/thing', file('a file in the layer')],
  ]);
  const contact = async (t: TestContext, policy: FirstContactPolicy, caseInsensitive: boolean): Promise<{ home: string; r: FirstContactResult }> => {
    const { dir } = await memoryBucket(t, 'first-contact-case');
    const home = join(dir, 'home');
    await writeTree(home, LOCAL_OTHER_CASE);
    const contentOf = (path: string): Promise<string> => readFile(path, 'utf8');
    const r = await firstContact({ home, effective: { tree, hidden: [], retired: [], known: () => new Set() }, policy, device: 'pc1', contentOf, caseInsensitive });
    return { home, r };
  };

  it('keep-both: a differing local version under a name differing only in case goes aside; an equal one stays', async (t) => {
    const { home, r } = await contact(t, 'keep-both', true);
    assert.deepEqual(r.conflicts.map((c) => c.path).sort(), ['documents/REPORT.txt', 'documents/THING']);
    for (const c of r.conflicts) assert.match(c.copy, /^documents\/(REPORT|THING)\.sync-conflict-\d{8}-\d{6}-pc1/);
    const copy = (p: string): string => join(home, r.conflicts.find((c) => c.path === p)?.copy ?? '');
    assert.equal(await readFile(copy('documents/REPORT.txt'), 'utf8'), 'my local report');
    assert.equal(await readFile(join(copy('documents/THING'), 'inside.txt'), 'utf8'), 'a local folder');
    assert.deepEqual((await readdir(join(home, 'documents'))).filter((n) => !n.includes('.sync-conflict-')).sort(), ['Mine.txt', 'Same.txt']);
    assert.deepEqual(r.removed, []);
  });

  it('layer-wins: a local folder where the layer has a file under a name differing only in case is removed', async (t) => {
    const { home, r } = await contact(t, 'layer-wins', true);
    assert.deepEqual([r.conflicts, r.removed], [[], ['documents/THING']]);
    assert.deepEqual((await readdir(join(home, 'documents'))).sort(), ['Mine.txt', 'REPORT.txt', 'Same.txt']);
  });

  it('on a case-sensitive disk, names differing in case are other paths: nothing is touched', async (t) => {
    for (const policy of ['keep-both', 'layer-wins'] as const) {
      const { home, r } = await contact(t, policy, false);
      assert.deepEqual([r.conflicts, r.removed], [[], []]);
      assert.deepEqual((await readdir(join(home, 'documents'))).sort(), ['Mine.txt', 'REPORT.txt', 'Same.txt', 'THING']);
    }
  });

  it('keep-both, on a real one: a local version under a name differing only in case becomes a conflict copy', async (t) => {
    const home = await caseInsensitiveDir(t);
    if (home === undefined) return;
    const s = await setup(t, 'keep-both', LOCAL_OTHER_CASE, home);
    const r = await lay(s, true);
    const docs = join(home, 'Documents');
    assert.equal(await readFile(join(docs, 'report.txt'), 'utf8'), 'layer report');
    assert.equal(await readFile(join(docs, 'thing'), 'utf8'), 'a file in the layer');
    assert.equal(await readFile(join(docs, 'mine.txt'), 'utf8'), 'only here');
    // Named as the disk names them.
    assert.deepEqual(r.conflicts.map((c) => c.path).sort(), ['documents/REPORT.txt', 'documents/THING']);
    const copy = (p: string): string => join(home, r.conflicts.find((c) => c.path === p)?.copy ?? '');
    assert.equal(await readFile(copy('documents/REPORT.txt'), 'utf8'), 'my local report');
    assert.equal(await readFile(join(copy('documents/THING'), 'inside.txt'), 'utf8'), 'a local folder');
  });

  it('layer-wins, on a real one: an image file where the layer has a folder under a name differing only in case is replaced, not kept', async (t) => {
    const home = await caseInsensitiveDir(t);
    if (home === undefined) return;
    const { dir, store, repo } = await memoryBucket(t, 'first-contact-case-dir');
    await writeTree(join(dir, 'layer'), { Documents: { foo: { 'inside.txt': 'the layer: in a folder' } } });
    await writeProfile(store, { version: 1, user: 'alice', displayName: '', layers: [], updated: new Date().toISOString() });
    await preloadUserLayer(repo, 'alice', { from: join(dir, 'layer') });
    await writeTree(home, { Documents: { Foo: 'the image: a file' } });
    const stateDir = join(dir, 'state');
    const org = parseOrgConfig({ version: 1, org: 'acme', mode: 'vdi', store: { bucket: 'acme-strata' }, policies: { firstContact: 'layer-wins' }, folders: ['Documents'] }, 'test');
    const session: Session = { version: 1, source: 'test', org, user: 'alice', home, mode: org.mode, device: 'pc1', signedIn: new Date().toISOString() };
    await writeSession(stateDir, session);
    const r = await layHome({ store, session, stateDir, caseInsensitive: true });
    const docs = join(home, 'Documents');
    assert.equal(await readFile(join(docs, 'foo', 'inside.txt'), 'utf8'), 'the layer: in a folder');
    assert.deepEqual(await readdir(docs), ['foo'], 'the image file is not kept');
    assert.deepEqual(r.conflicts, []);
  });
});

describe('first contact hands its listings to the restore', () => {
  it('lists every folder it looked in, except those it changed something in', async (t) => {
    const { dir } = await memoryBucket(t, 'first-contact-listed');
    const home = join(dir, 'home');
    // Local: a folder where the layer has a file (layer-wins removes it), and an untouched folder.
    await writeTree(home, { Documents: { thing: { 'inside.txt': 'local' }, 'a.txt': 'a' }, Music: { 'x.mp3': 'x' } });
    const file = (content: string): DiskNode => ({ type: 'file', size: content.length, mtimeMs: 0, mode: 0o644, content });
    const tree = new Map<string, DiskNode>([
      ['Documents', { type: 'dir', mode: 0o755 }],
      ['Documents/a.txt', file('a')],
      ['Documents/thing', file('layer')],
      ['Music', { type: 'dir', mode: 0o755 }],
      ['Music/x.mp3', file('x')],
    ]);
    const r = await firstContact({ home, effective: { tree, hidden: [], retired: [], known: () => new Set() }, policy: 'layer-wins', device: 'pc1', contentOf: () => Promise.reject(new Error('not read')) });
    assert.deepEqual(r.removed, ['Documents/thing']);
    assert.deepEqual([...r.listed.keys()].sort(), [home, join(home, 'Music')]);
    assert.deepEqual(r.listed.get(join(home, 'Music'))?.map((d) => d.name), ['x.mp3']);
  });

  it('hands on what it saw in a folder it changed, but what it moved aside or removed there', async (t) => {
    const { dir } = await memoryBucket(t, 'first-contact-seen');
    const home = join(dir, 'home');
    await writeTree(home, { Documents: { thing: { 'inside.txt': 'local' }, 'a.txt': 'mine', sub: 'a file where the layer has a folder' } });
    const file = (content: string): DiskNode => ({ type: 'file', size: content.length, mtimeMs: 0, mode: 0o644, content });
    const tree = new Map<string, DiskNode>([
      ['Documents', { type: 'dir', mode: 0o755 }],
      ['Documents/a.txt', file('the layer')],
      ['Documents/thing', file('layer')],
      ['Documents/sub', { type: 'dir', mode: 0o755 }],
      ['Documents/sub/b.txt', file('b')],
    ]);
    const effective = { tree, hidden: [], retired: [], known: () => new Set<string>() };
    const contentOf = (): Promise<string> => Promise.resolve('local content');
    const layerWins = await firstContact({ home, effective, policy: 'layer-wins', device: 'pc1', contentOf });
    assert.deepEqual(layerWins.removed, ['Documents/thing']);
    assert.deepEqual([...layerWins.listed.keys()], [home]);
    assert.deepEqual([...layerWins.seen.keys()], [join(home, 'Documents')]);
    assert.deepEqual(layerWins.seen.get(join(home, 'Documents'))?.map((d) => d.name).sort(), ['a.txt', 'sub']);

    await writeTree(home, { Documents: { thing: { 'inside.txt': 'local' } } });
    const keepBoth = await firstContact({ home, effective, policy: 'keep-both', device: 'pc1', contentOf });
    assert.deepEqual(keepBoth.conflicts.map((c) => c.path).sort(), ['Documents/a.txt', 'Documents/sub', 'Documents/thing']);
    assert.deepEqual(keepBoth.seen.get(join(home, 'Documents'))?.map((d) => d.name), []);
  });
});
