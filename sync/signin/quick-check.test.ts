// The lay's quick check and its guard (lay.ts): on a clean lay, home files with the layer's size
// and mtime are taken as laid without being read; after a lay that was cut off (its `laying`
// marker is still in the state dir), every file is read and a wrong one is replaced — under
// keep-both too when it bears the layer's mtime: that is the cut-off lay's own torn write.
import assert from 'node:assert/strict';
import { access, mkdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { parseOrgConfig, type FirstContactPolicy } from '../../shared/org-config.js';
import { writeTree, type Spec } from '../cli/testkit.js';
import { preloadUserLayer, writeProfile } from '../profile/index.js';
import { poolChunkFile, poolChunkFiles } from '../restore/chunk.js';
import type { ChunkFileFn, ChunkFilesFn } from '../restore/index.js';
import { layHome } from './lay.js';
import { readSession, writeSession, type Session } from './session.js';
import { memoryBucket } from './testkit.js';

const FILES: Spec = { Documents: { 'a.txt': 'alpha version one', 'b.txt': 'bravo version one', sub: { 'c.txt': 'charlie version one' } } };
const MTIME = new Date('2026-03-01T10:00:00Z');

async function setup(t: TestContext, policy: FirstContactPolicy) {
  const { dir, store, repo } = await memoryBucket(t, 'quick-check');
  const template = join(dir, 'template');
  await writeTree(template, FILES);
  for (const f of ['a.txt', 'b.txt', 'sub/c.txt']) await utimes(join(template, 'Documents', f), MTIME, MTIME);
  await writeProfile(store, { version: 1, user: 'alice', displayName: '', layers: [], updated: new Date().toISOString() });
  await preloadUserLayer(repo, 'alice', { from: template });

  // The machine's copy: b.txt has other bytes of the same size under the layer's mtime (only
  // reading it can tell), c.txt is missing.
  const home = join(dir, 'home');
  await writeTree(home, { Documents: { 'a.txt': 'alpha version one', 'b.txt': 'BRAVO VERSION ONE' } });
  for (const f of ['a.txt', 'b.txt']) await utimes(join(home, 'Documents', f), MTIME, MTIME);
  const stateDir = join(dir, 'state');
  const org = parseOrgConfig({ version: 1, org: 'acme', store: { bucket: 'acme-strata' }, policies: { firstContact: policy }, folders: ['Documents'] }, 'test');
  const session: Session = { version: 1, source: 'test', org, user: 'alice', home, mode: org.mode, device: 'pc1', signedIn: new Date().toISOString() };
  await writeSession(stateDir, session);
  const read: string[] = [];
  const chunkFile: ChunkFileFn = (path, params, hash) => {
    read.push(path);
    return poolChunkFile(path, params, hash);
  };
  const batches: string[][] = [];
  const chunkFiles: ChunkFilesFn = (files, params, hash) => {
    batches.push(files.map((f) => f.path));
    return poolChunkFiles(files, params, hash);
  };
  const lay = () => layHome({ store, session, stateDir, chunkFile });
  const layBatched = () => layHome({ store, session, stateDir, chunkFile, chunkFiles });
  return { home, stateDir, read, batches, lay, layBatched };
}

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

describe('sign-in quick check', () => {
  for (const policy of ['layer-wins', 'keep-both'] as const) {
    it(`${policy}: a clean lay takes files with the layer's size and mtime as laid, reading none of them`, async (t) => {
      const { home, stateDir, read, lay } = await setup(t, policy);
      const result = await lay();
      assert.deepEqual(read.filter((p) => p.startsWith(home)), []);
      assert.equal(result.conflicts.length, 0);
      // The trade-off, as rsync's: same size and mtime is trusted to be the same content.
      assert.equal(await readFile(join(home, 'Documents/b.txt'), 'utf8'), 'BRAVO VERSION ONE');
      assert.equal(await readFile(join(home, 'Documents/sub/c.txt'), 'utf8'), 'charlie version one');
      assert.equal(result.bytesReused, 'alpha version one'.length + 'bravo version one'.length);
      assert.equal(await exists(join(stateDir, 'laying')), false, 'the marker goes once the lay is recorded');
      assert.ok((await readSession(stateDir)).laid);
    });
  }

  it('layer-wins: after a lay that was cut off, every file is read and a wrong one is replaced', async (t) => {
    const { home, stateDir, read, lay } = await setup(t, 'layer-wins');
    await writeFile(join(stateDir, 'laying'), 'a lay started here and never finished\n');
    const result = await lay();
    assert.ok(read.includes(join(home, 'Documents/b.txt')));
    assert.equal(await readFile(join(home, 'Documents/b.txt'), 'utf8'), 'bravo version one');
    assert.equal(await readFile(join(home, 'Documents/a.txt'), 'utf8'), 'alpha version one');
    assert.equal(result.bytesReused, 'alpha version one'.length);
    assert.equal((await stat(join(home, 'Documents/b.txt'))).mtimeMs, MTIME.getTime());
    assert.equal(await exists(join(stateDir, 'laying')), false);
  });

  it('layer-wins: given chunkFiles, a lay reads small files in batches, and replaces a wrong one as well', async (t) => {
    const { home, stateDir, read, batches, layBatched } = await setup(t, 'layer-wins');
    await writeFile(join(stateDir, 'laying'), 'a lay started here and never finished\n');
    const result = await layBatched();
    assert.ok(batches.flat().includes(join(home, 'Documents/b.txt')));
    assert.deepEqual(read.filter((p) => p.startsWith(home)), []);
    assert.equal(await readFile(join(home, 'Documents/b.txt'), 'utf8'), 'bravo version one');
    assert.equal(result.bytesReused, 'alpha version one'.length);
  });

  it("keep-both: after a lay that was cut off, a file bearing the layer's mtime is that lay's torn write, replaced; another differing file is kept as a conflict copy", async (t) => {
    const { home, stateDir, lay } = await setup(t, 'keep-both');
    await writeFile(join(stateDir, 'laying'), 'a lay started here and never finished\n');
    // What a crash after the rename may leave: the name and the mtime, not the data (b.txt, and
    // a.txt cut to nothing); c.txt was edited here since (its own mtime).
    await writeFile(join(home, 'Documents/a.txt'), '');
    await utimes(join(home, 'Documents/a.txt'), MTIME, MTIME);
    await mkdir(join(home, 'Documents/sub'));
    await writeFile(join(home, 'Documents/sub/c.txt'), 'charlie, edited here');
    const result = await lay();
    assert.deepEqual(result.conflicts.map((c) => c.path), ['Documents/sub/c.txt']);
    assert.equal(await readFile(join(home, 'Documents/a.txt'), 'utf8'), 'alpha version one');
    assert.equal(await readFile(join(home, 'Documents/b.txt'), 'utf8'), 'bravo version one');
    assert.equal(await readFile(join(home, 'Documents/sub/c.txt'), 'utf8'), 'charlie version one');
    assert.equal(await readFile(join(home, result.conflicts[0]?.copy ?? ''), 'utf8'), 'charlie, edited here');
  });

  it('keep-both: a clean lay keeps a differing file with its own mtime as a conflict copy', async (t) => {
    const { home, lay } = await setup(t, 'keep-both');
    await mkdir(join(home, 'Documents/sub'));
    await writeFile(join(home, 'Documents/sub/c.txt'), 'charlie, edited here');
    const result = await lay();
    assert.deepEqual(result.conflicts.map((c) => c.path), ['Documents/sub/c.txt']);
    assert.equal(await readFile(join(home, result.conflicts[0]?.copy ?? ''), 'utf8'), 'charlie, edited here');
  });
});
