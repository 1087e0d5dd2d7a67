// What the user or an app writes into the target while a restore with `newcomers` (the sign-in's
// lay) or `aside` (`strata restore` in place) runs, at the paths of the snapshot's links, folders
// and files the restore leaves in place: nothing of it is lost. Each case holds the restore at one
// point after its walk (its first progress event, a chunking of a file it looks at) and writes then.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, readlink, realpath, rmdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { poolChunkFile } from './chunk.js';
import { restoreTree, type ChunkFileFn, type EarlierWalk, type RestoreOptions, type RestoreStats } from './index.js';
import { MTIME, dir, file, link, newRepo, saveLayer, tempDir } from './testkit.js';

const modes = [
  ['newcomers', { newcomers: { device: 'pc' } }],
  ['aside', { aside: { device: 'pc' } }],
] as const satisfies readonly (readonly [string, Partial<RestoreOptions>])[];

/** What each copy the restore reports holds: a file's text, a link's target, a folder's names. */
async function copies(target: string, stats: RestoreStats): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const m of stats.movedAside) {
    const p = join(target, m.copy);
    const st = await lstat(p);
    out.set(m.path, st.isSymbolicLink() ? `-> ${await readlink(p)}` : st.isDirectory() ? `[${(await readdir(p)).join(',')}]` : await readFile(p, 'utf8'));
  }
  return out;
}

describe('restore with newcomers: links', () => {
  for (const [name, mode] of modes) {
    it(`${name}: what appears at a link's path after the walk, or changes there, is kept as a conflict copy; what the walk saw is replaced`, { skip: process.platform === 'win32' && 'symlinks need privileges' }, async (t) => {
      const { repo } = await newRepo();
      const root = await saveLayer(repo, {
        'a.txt': file('a file, so that the restore reports progress'),
        'on-empty': link('t-empty'),
        'on-folder': link('t-folder'),
        'on-changed': link('t-changed'),
        'on-file': link('t-file'),
        'on-link': link('t-link'),
      });
      const target = join(await tempDir(t, 'newcomers'), 'target');
      await mkdir(target);
      await writeFile(join(target, 'on-changed'), 'the walk saw this');
      await writeFile(join(target, 'on-file'), 'the walk saw this, unchanged');
      await symlink('old-target', join(target, 'on-link'));
      let held = false;
      const onProgress = () => {
        if (held) return;
        held = true;
        writeFileSync(join(target, 'on-empty'), 'made during the restore');
        mkdirSync(join(target, 'on-folder'));
        writeFileSync(join(target, 'on-folder', 'inside.txt'), 'in a folder made during the restore');
        writeFileSync(join(target, 'on-changed'), 'changed during the restore');
      };
      const stats = await restoreTree(repo, { target, root, onProgress, ...mode });
      assert.ok(held, 'held after the walk');
      for (const ln of ['on-empty', 'on-folder', 'on-changed', 'on-file', 'on-link']) {
        assert.equal(await readlink(join(target, ln)), `t-${ln.slice(3)}`, `${ln} is the snapshot's link`);
        assert.equal(Math.round((await lstat(join(target, ln))).mtimeMs), MTIME, `${ln} has the snapshot's mtime`);
      }
      const kept = await copies(target, stats);
      assert.equal(kept.get('on-empty'), 'made during the restore');
      assert.equal(kept.get('on-folder'), '[inside.txt]');
      assert.equal(kept.get('on-changed'), 'changed during the restore');
      // aside keeps what the walk saw too (the layer's latest snapshot is not given: nothing is saved).
      const expected = name === 'aside' ? ['on-changed', 'on-empty', 'on-file', 'on-folder', 'on-link'] : ['on-changed', 'on-empty', 'on-folder'];
      assert.deepEqual([...kept.keys()].sort(), expected, 'one copy each, of nothing else');
    });
  }
});

// A file where the snapshot has a folder: what the caller saw there before (first contact's listing
// of home, the ready half's walk) goes as ever (the snapshot wins, as the policy said); what
// appeared since is the user's.
describe('restore with newcomers: folders', () => {
  it('a file made where a folder was, after the walk the restore takes (the ready half), is kept as a conflict copy', async (t) => {
    const { repo } = await newRepo();
    const root = await saveLayer(repo, { 'a.txt': file('a'), empty: dir({}) });
    const target = join(await tempDir(t, 'newcomers'), 'target');
    await mkdir(target);
    let walked: EarlierWalk | undefined;
    await restoreTree(repo, { target, root, newcomers: { device: 'pc' }, onWalked: (w) => (walked = w) });
    assert.ok(walked, 'the first restore told its walk');
    await rmdir(join(target, 'empty'));
    await writeFile(join(target, 'empty'), 'made where a folder was');
    const stats = await restoreTree(repo, { target, root, newcomers: { device: 'pc' }, walked });
    assert.ok((await lstat(join(target, 'empty'))).isDirectory(), 'the folder is made again');
    assert.deepEqual([...(await copies(target, stats))], [['empty', 'made where a folder was']]);
  });

  // `listed`: a folder the caller changed nothing in; `seen`: one it changed (first contact moved or removed something there).
  for (const given of ['listed', 'seen'] as const) {
    it(`${given}: a file or link made where a folder goes after the caller listed the target is kept as a conflict copy; one it listed is removed`, { skip: process.platform === 'win32' && 'symlinks need privileges' }, async (t) => {
      const { repo } = await newRepo();
      const root = await saveLayer(repo, { listed: dir({}), 'new-file': dir({ 'in.txt': file('in') }), 'new-link': dir({}), 'new-case': dir({}), 'same-case': dir({}) });
      const target = await realpath(await tempDir(t, 'newcomers'));
      await writeFile(join(target, 'listed'), 'the image: a file where the layer has a folder');
      // On this case-sensitive disk, another entry than new-case: what is made at new-case is a newcomer.
      await writeFile(join(target, 'NEW-CASE'), 'the image: a name differing in case');
      await writeFile(join(target, 'SAME-CASE'), 'the image: same size');
      const listing = new Map([[target, readdirSync(target, { withFileTypes: true })]]);
      await writeFile(join(target, 'new-file'), 'made after the listing');
      await symlink('somewhere', join(target, 'new-link'));
      await writeFile(join(target, 'new-case'), 'made after the listing, its name folding to a listed one');
      // Another entry though it has the listed one's size, mode and mtime: only the folder's listing tells them apart.
      await writeFile(join(target, 'same-case'), 'newcomer: same size!');
      const listedSame = await lstat(join(target, 'SAME-CASE'));
      await utimes(join(target, 'same-case'), listedSame.atime, listedSame.mtime);
      const stats = await restoreTree(repo, { target, root, newcomers: { device: 'pc' }, [given]: listing });
      for (const name of ['listed', 'new-file', 'new-link', 'new-case', 'same-case']) assert.ok((await lstat(join(target, name))).isDirectory(), `${name} is a folder`);
      assert.equal(await readFile(join(target, 'new-file', 'in.txt'), 'utf8'), 'in');
      assert.equal(await readFile(join(target, 'NEW-CASE'), 'utf8'), 'the image: a name differing in case');
      const kept = await copies(target, stats);
      assert.deepEqual([...kept].sort(), [['new-case', 'made after the listing, its name folding to a listed one'], ['new-file', 'made after the listing'], ['new-link', '-> somewhere'], ['same-case', 'newcomer: same size!']]);
    });
  }
});

// A file whose content the restore found right (its chunks) gets the snapshot's mode and mtime in
// place. An edit saved between that look and the stamp must keep its own mtime: with the
// snapshot's, the agent's stat cache would take the edit for the laid file, never upload it, and a
// later change from another device would replace it.
describe('restore with newcomers: a file left in place', () => {
  // A plain restore too: the layer's time on the user's bytes would make the edit look restored.
  for (const [name, mode] of [...modes, ['plain', {}] as const]) {
    it(`${name}: edited after the restore read it, it keeps the edit and its own mtime`, async (t) => {
      const { repo } = await newRepo();
      const root = await saveLayer(repo, { 'same.txt': file('the layer: same content') });
      const target = join(await tempDir(t, 'newcomers'), 'target');
      await mkdir(target);
      const path = join(target, 'same.txt');
      await writeFile(path, 'the layer: same content');
      const edited = MTIME + 60_000;
      let held = false;
      const chunkFile: ChunkFileFn = async (p, params, hash) => {
        const chunked = await poolChunkFile(p, params, hash);
        if (p === path) {
          held = true;
          writeFileSync(path, 'the user: edited, same');
          utimesSync(path, edited / 1000, edited / 1000);
        }
        return chunked;
      };
      const stats = await restoreTree(repo, { target, root, chunkFile, ...mode });
      assert.ok(held, 'held after the restore read the file');
      assert.equal(await readFile(path, 'utf8'), 'the user: edited, same');
      assert.equal(Math.round((await lstat(path)).mtimeMs), edited, 'the edit keeps its mtime');
      assert.deepEqual(stats.movedAside, []);
    });
  }
});
