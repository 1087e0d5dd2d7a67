// `aside` keeping the files and links a restore replaces (aside.ts keepChanged, undoKept).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { link as fsLink, lstat, mkdir, readdir, readFile, readlink, rename, symlink, utimes, writeFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isErrno } from '../fsutil.js';
import { freeConflictPath } from '../plan/conflict-name.js';
import { FaultyStore } from '../store/faulty.js';
import { MemoryStore } from '../store/memory.js';
import { makeFifo, notWaitingOn } from '../testing/fifo.js';
import { restoreTree } from './index.js';
import { MTIME, file, link, newRepo, saveLayer, tempDir } from './testkit.js';

describe('restore with aside: replaced files and links whose version the layer lacks', () => {
  it('keeps those as conflict copies and replaces those the latest snapshot has', async (t) => {
    const { repo } = await newRepo();
    const old = await saveLayer(repo, { 'saved.txt': file('old'), 'edited.txt': file('old'), ln: link('old-target') });
    const latest = await saveLayer(repo, { 'saved.txt': file('latest', 0o644, MTIME + 5000), 'edited.txt': file('latest', 0o644, MTIME + 5000), ln: link('latest-target') });
    const target = join(await tempDir(t, 'aside'), 'target');
    await mkdir(target);
    await writeFile(join(target, 'saved.txt'), 'latest');
    await utimes(join(target, 'saved.txt'), (MTIME + 5000) / 1000, (MTIME + 5000) / 1000);
    await writeFile(join(target, 'edited.txt'), 'edited since');
    await symlink('made-since', join(target, 'ln'));
    const stats = await restoreTree(repo, { target, root: old, aside: { device: 'pc', latest } });
    assert.equal(await readFile(join(target, 'saved.txt'), 'utf8'), 'old');
    assert.equal(await readFile(join(target, 'edited.txt'), 'utf8'), 'old');
    assert.equal(await readlink(join(target, 'ln')), 'old-target');
    const copies = stats.movedAside.map((m) => m.path).sort();
    assert.deepEqual(copies, ['edited.txt', 'ln'], 'the version the latest snapshot has is not copied');
    const byPath = new Map(stats.movedAside.map((m) => [m.path, m.copy]));
    assert.equal(await readFile(join(target, byPath.get('edited.txt') as string), 'utf8'), 'edited since');
    assert.equal(await readlink(join(target, byPath.get('ln') as string)), 'made-since');
  });

  // After keepChanged kept what the target had, before the last rename (the first file placed, small
  // files first): the user saves at the path of the file still to come.
  it('keeps what appears at a path after its copies were kept as a conflict copy, instead of replacing it', async (t) => {
    const { repo } = await newRepo();
    const root = await saveLayer(repo, { 'a.txt': file('a'), 'later.txt': file('from the snapshot, placed last') });
    const target = join(await tempDir(t, 'aside'), 'target');
    await mkdir(target);
    let held = false;
    const onProgress = (p: { filesDone: number }) => {
      if (held || p.filesDone !== 1) return;
      held = true;
      fs.writeFileSync(join(target, 'later.txt'), 'made during the restore');
    };
    const stats = await restoreTree(repo, { target, root, aside: { device: 'pc' }, onProgress });
    assert.ok(held, 'held after the first file');
    assert.equal(await readFile(join(target, 'later.txt'), 'utf8'), 'from the snapshot, placed last');
    const kept = await Promise.all(stats.movedAside.map(async (m) => `${m.path}: ${await readFile(join(target, m.copy), 'utf8')}`));
    assert.deepEqual(kept, ['later.txt: made during the restore']);
  });

  // A restore killed after it kept the file (a hard link), before it replaced it: the rerun finds
  // that copy beside the file, the same version, and must not keep it a second time.
  it('takes a conflict copy already there of the very file (a hard link a killed run made) as its copy', async (t) => {
    const { repo } = await newRepo();
    const root = await saveLayer(repo, { 'a.txt': file('from the snapshot') });
    const target = join(await tempDir(t, 'aside'), 'target');
    await mkdir(target);
    await writeFile(join(target, 'a.txt'), 'mine, in no snapshot');
    const before = await lstat(join(target, 'a.txt'));
    const copy = freeConflictPath('a.txt', before.mtimeMs, 'pc', () => false);
    await fsLink(join(target, 'a.txt'), join(target, copy));
    const stats = await restoreTree(repo, { target, root, aside: { device: 'pc' } });
    assert.equal(await readFile(join(target, 'a.txt'), 'utf8'), 'from the snapshot');
    assert.deepEqual((await readdir(target)).sort(), ['a.txt', copy].sort());
    assert.deepEqual(stats.movedAside.map((m) => m.copy), [copy]);
    assert.equal(await readFile(join(target, copy), 'utf8'), 'mine, in no snapshot');
  });

  it('a restore that fails leaves no copy of a file it did not replace', async (t) => {
    const store = new FaultyStore(new MemoryStore(), { seed: 1, failRate: 0 });
    const { repo } = await newRepo({ store });
    const root = await saveLayer(repo, { 'a.txt': file('from the snapshot') });
    const target = join(await tempDir(t, 'aside'), 'target');
    await mkdir(target);
    await writeFile(join(target, 'a.txt'), 'mine, in no snapshot');
    // Without `latest` every replaced file is kept; then the store goes down, and downloads fail.
    const failing = restoreTree(repo, { target, root, aside: { device: 'pc' }, onProgress: () => void (store.failRate = 1) });
    await assert.rejects(failing);
    assert.deepEqual(await readdir(target), ['a.txt']);
    assert.equal(await readFile(join(target, 'a.txt'), 'utf8'), 'mine, in no snapshot');
  });

  // A copy (no hard links) whose times or fsync then fail is a second name of a version the
  // restore never replaced: like the copies undoKept removes, it must not stay behind.
  it('a copy whose times cannot be set is removed, and the restore fails naming why', async (t) => {
    const { repo } = await newRepo();
    const root = await saveLayer(repo, { 'a.txt': file('from the snapshot') });
    const target = join(await tempDir(t, 'aside'), 'target');
    await mkdir(target);
    await writeFile(join(target, 'a.txt'), 'mine, in no snapshot');
    const { link: linkBefore, utimes: utimesBefore } = fs.promises;
    fs.promises.link = () => Promise.reject(Object.assign(new Error('EXDEV: cross-device link not permitted'), { code: 'EXDEV' }));
    fs.promises.utimes = () => Promise.reject(Object.assign(new Error('EIO: i/o error, utime'), { code: 'EIO', syscall: 'utime' }));
    syncBuiltinESMExports();
    try {
      await assert.rejects(restoreTree(repo, { target, root, aside: { device: 'pc' } }), (err) => isErrno(err, 'EIO'));
    } finally {
      Object.assign(fs.promises, { link: linkBefore, utimes: utimesBefore });
      syncBuiltinESMExports();
    }
    assert.deepEqual(await readdir(target), ['a.txt']);
    assert.equal(await readFile(join(target, 'a.txt'), 'utf8'), 'mine, in no snapshot');
  });

  // Where hard links fail (FAT, some shares) the file is copied instead: what stands at its path by
  // then may be a FIFO, which must not make the restore wait for a writer, nor be lost.
  it('a file swapped for a FIFO before it is copied (no hard links) is moved aside, not waited on', { skip: process.platform === 'win32' && 'no FIFOs on Windows', timeout: 60_000 }, async (t) => {
    const { repo } = await newRepo();
    const root = await saveLayer(repo, { 'a.txt': file('from the snapshot') });
    const base = await tempDir(t, 'aside');
    const target = join(base, 'target');
    await mkdir(target);
    const path = join(target, 'a.txt');
    await writeFile(path, 'mine, in no snapshot');
    const original = fs.promises.link;
    let swapped = false;
    // Only the links of a.txt fail (the one that keeps it, then the FIFO's move aside), the FIFO
    // swapped in at the first: the link that puts the restored file in place must work.
    fs.promises.link = async (from, to) => {
      if (from !== path) return original(from, to);
      if (!swapped) {
        swapped = true;
        await rename(path, join(base, 'kept'));
        makeFifo(path);
      }
      throw Object.assign(new Error('EXDEV: cross-device link not permitted'), { code: 'EXDEV' });
    };
    syncBuiltinESMExports();
    let stats;
    try {
      stats = await notWaitingOn(path, restoreTree(repo, { target, root, aside: { device: 'pc' } }));
    } finally {
      fs.promises.link = original;
      syncBuiltinESMExports();
    }
    assert.equal(await readFile(path, 'utf8'), 'from the snapshot');
    assert.deepEqual(stats.movedAside.map((m) => m.path), ['a.txt']);
    assert.ok((await lstat(join(target, stats.movedAside[0]!.copy))).isFIFO());
    assert.equal(await readFile(join(base, 'kept'), 'utf8'), 'mine, in no snapshot');
  });
});
