import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { chunkFileHere } from '../chunker/index.js';
import { StrataError } from '../errors.js';
import { keys } from '../repo/types.js';
import { makeRng } from '../testing/random.js';
import { MemoryStore } from '../store/memory.js';
import { restoreSnapshot, restoreTree, type ChunkFileFn } from './index.js';
import { MTIME, dir, expectedListing, file, link, listing, newRepo, saveLayer, tempDir, type Spec } from './testkit.js';

function sampleSpec(): Spec {
  const rng = makeRng(7);
  const big = rng.bytes(300 * 1024);
  const shared = rng.bytes(20 * 1024);
  return {
    'a.txt': file('hello\n', 0o644, MTIME + 1),
    empty: file(''),
    'run.sh': file('#!/bin/sh\necho hi\n', 0o755, 1_600_000_000_987),
    'readonly.txt': file('do not touch', 0o444),
    // Wider than the usual umask (022) lets a new file be: its mode is set after the create.
    'group-writable.txt': file('team notes', 0o664),
    'big-shared.bin': file(rng.bytes(200 * 1024), 0o666),
    'big.bin': file(big, 0o600),
    zeros: file(new Uint8Array(100 * 1024)),
    docs: dir({
      'caf\u00e9.txt': file('nfc'),
      'cafe\u0301.txt': file('nfd'),
      '\u{1F600} smile.md': file('emoji'),
      'copy-of-shared': file(shared),
      nested: dir({ deep: dir({ 'leaf.txt': file('leaf') }, 0o700, MTIME + 5) }),
    }),
    'shared-1': file(shared),
    'empty-dir': dir({}, 0o750, MTIME + 9),
    locked: dir({ 'inside.txt': file('x') }, 0o555),
    'link-to-a': link('a.txt'),
    'docs-link': link('docs/nested/../caf\u00e9.txt'),
  };
}

describe('restore: round trip', () => {
  it('restores content, modes, mtimes (ms), links, empty files and folders, Unicode names, multi-chunk files', async (t) => {
    const { repo } = await newRepo();
    const spec = sampleSpec();
    const root = await saveLayer(repo, spec);
    const target = join(await tempDir(t), 'out');
    const progress: number[] = [];
    const stats = await restoreTree(repo, { target, root, onProgress: (p) => progress.push(p.filesDone) });
    assert.deepEqual(await listing(target), expectedListing(spec));
    assert.equal(stats.files, 15);
    assert.equal(stats.symlinks, 2);
    assert.equal(stats.dirs, 5);
    assert.equal(stats.bytesDownloaded + stats.bytesSeeded + stats.bytesReused, stats.bytes);
    assert.equal(stats.filesSkippedComplete, 0);
    assert.equal(progress.at(-1), 15);
    assert.ok(stats.gets > 0);
  });

  it('deferSync lays the same tree, leaving no temp file behind', async (t) => {
    const { repo } = await newRepo();
    const spec = sampleSpec();
    const root = await saveLayer(repo, spec);
    const target = await tempDir(t);
    const stats = await restoreTree(repo, { target, root, deferSync: true });
    assert.deepEqual(await listing(target), expectedListing(spec));
    assert.equal(stats.bytesDownloaded, stats.bytes);
  });

  it('quickCheck takes a file of the right size and mtime as complete without reading it; the default reads and repairs it', async (t) => {
    const { repo } = await newRepo();
    const spec = sampleSpec();
    const root = await saveLayer(repo, spec);
    const target = await tempDir(t);
    await restoreTree(repo, { target, root });
    const path = join(target, 'a.txt');
    const { mtime } = await stat(path);
    await writeFile(path, 'HELLO\n');
    await utimes(path, mtime, mtime);
    const read: string[] = [];
    const chunkFile: ChunkFileFn = (p, params, hash) => {
      read.push(p);
      return chunkFileHere(p, params, hash);
    };
    const quick = await restoreTree(repo, { target, root, quickCheck: true, chunkFile });
    assert.equal(read.length, 0, `read ${read.join(", ")}`);
    assert.equal(quick.filesSkippedComplete, quick.files);
    assert.equal(await readFile(path, 'utf8'), 'HELLO\n');
    const full = await restoreTree(repo, { target, root, chunkFile });
    assert.ok(read.includes(path));
    assert.equal(full.filesSkippedComplete, full.files - 1);
    assert.deepEqual(await listing(target), expectedListing(spec));
  });

  it('a second run changes nothing and downloads nothing', async (t) => {
    const { repo } = await newRepo();
    const spec = sampleSpec();
    const root = await saveLayer(repo, spec);
    const target = await tempDir(t);
    await restoreTree(repo, { target, root });
    const again = await restoreTree(repo, { target, root });
    assert.equal(again.filesSkippedComplete, again.files);
    assert.equal(again.bytesReused, again.bytes);
    assert.equal(again.bytesDownloaded, 0);
    assert.deepEqual(await listing(target), expectedListing(spec));
  });

  it('repairs changed files (local chunks reused) and leaves paths the snapshot does not mention', async (t) => {
    const { repo } = await newRepo();
    const spec = sampleSpec();
    const root = await saveLayer(repo, spec);
    const target = await tempDir(t);
    await restoreTree(repo, { target, root });
    const big = await readFile(join(target, 'big.bin'));
    big.writeUInt8(big.readUInt8(150 * 1024) ^ 0xff, 150 * 1024);
    await writeFile(join(target, 'big.bin'), big);
    await writeFile(join(target, 'a.txt'), 'HELLO\n');
    await writeFile(join(target, 'mine.txt'), 'local only');
    const stats = await restoreTree(repo, { target, root });
    assert.deepEqual(await listing(target), [...expectedListing(spec), (await listing(target)).find((l) => l.includes('mine.txt')) as string].sort());
    assert.equal(await readFile(join(target, 'mine.txt'), 'utf8'), 'local only');
    assert.equal(stats.filesSkippedComplete, stats.files - 2);
    assert.ok(stats.bytesSeeded > 250 * 1024, `seeded ${stats.bytesSeeded}`);
    assert.ok(stats.bytesDownloaded < 40 * 1024, `downloaded ${stats.bytesDownloaded}`);
  });

  it('restoreSnapshot and `only` restore one file or one folder in place', async (t) => {
    const { repo } = await newRepo();
    const spec = sampleSpec();
    const root = await saveLayer(repo, spec);
    const snap = await repo.saveSnapshot({ version: 1, layer: 'user/u1', device: 'd1', time: new Date(MTIME).toISOString(), root, parents: [] });
    const target = await tempDir(t);
    const one = await restoreSnapshot(repo, 'user/u1', snap, { target, only: 'docs/nested' });
    assert.deepEqual(await readdir(target), ['docs']);
    assert.deepEqual(await readdir(join(target, 'docs')), ['nested']);
    assert.equal(await readFile(join(target, 'docs/nested/deep/leaf.txt'), 'utf8'), 'leaf');
    assert.equal(one.files, 1);
    await restoreSnapshot(repo, 'user/u1', snap, { target, only: 'a.txt' });
    assert.equal(await readFile(join(target, 'a.txt'), 'utf8'), 'hello\n');
    await assert.rejects(restoreSnapshot(repo, 'user/u1', snap, { target, only: 'docs/missing' }), { code: 'E_NOT_IN_SNAPSHOT' });
    await assert.rejects(restoreSnapshot(repo, 'user/u1', snap, { target, only: 'a.txt/x' }), { code: 'E_NOT_IN_SNAPSHOT' });
    await assert.rejects(restoreSnapshot(repo, 'user/u1', snap, { target, only: '../x' }), { code: 'E_BAD_PATH' });
  });

  it('`only` reads no file of the target outside the path it restores', async (t) => {
    const { repo } = await newRepo();
    const rng = makeRng(11);
    const root = await saveLayer(repo, { 'notes.txt': file('a note'), docs: dir({ 'report.bin': file(rng.bytes(40 * 1024)) }) });
    const target = await tempDir(t);
    // The rest of a home folder: large files a one-file restore has no business reading.
    await mkdir(join(target, 'videos'));
    for (let i = 0; i < 5; i++) await writeFile(join(target, 'videos', `v${i}.bin`), rng.bytes(64 * 1024));
    await mkdir(join(target, 'docs'));
    await writeFile(join(target, 'docs', 'report.bin'), rng.bytes(40 * 1024));
    const read: string[] = [];
    const chunkFile: ChunkFileFn = (p, params, hash) => {
      read.push(p);
      return chunkFileHere(p, params, hash);
    };
    await restoreTree(repo, { target, root, only: 'docs', chunkFile });
    assert.deepEqual(read, [join(target, 'docs', 'report.bin')]);
    read.length = 0;
    // A crashed run of the same one-file restore left its temp file beside the file.
    await writeFile(join(target, `.strata-tmp-${spawnSync(process.execPath, ['-e', '']).pid}-crashed`), 'partial');
    await restoreTree(repo, { target, root, only: 'notes.txt', chunkFile });
    assert.deepEqual(read, []);
    assert.equal(await readFile(join(target, 'notes.txt'), 'utf8'), 'a note');
    assert.deepEqual((await readdir(target)).filter((n) => n.startsWith('.strata-tmp-')), []);
  });

  it("removes the temp files of a process that is gone from the folders it restores into, never a running process's (an agent's executor writing there)", async (t) => {
    const { repo } = await newRepo();
    const root = await saveLayer(repo, { 'notes.txt': file('a note'), docs: dir({ 'a.txt': file('a') }) });
    const target = await tempDir(t);
    const agent = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    t.after(() => agent.kill());
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    for (const only of [undefined, 'notes.txt']) {
      const names = { running: `.strata-tmp-${agent.pid}-0123456789abcdef`, mine: `.strata-tmp-${process.pid}-00000000000000aa`, left: `.strata-tmp-${gone}-feedfacecafebeef` };
      for (const d of [target, join(target, 'docs')]) {
        await mkdir(d, { recursive: true });
        for (const n of Object.values(names)) await writeFile(join(d, n), 'half');
      }
      await restoreTree(repo, { target, root, ...(only !== undefined && { only }) });
      const temps = async (d: string) => (await readdir(d)).filter((n) => n.startsWith('.strata-tmp-')).sort();
      assert.deepEqual(await temps(target), [names.mine, names.running].sort(), `restore ${only ?? 'of the whole tree'}`);
      if (only === undefined) assert.deepEqual(await temps(join(target, 'docs')), [names.mine, names.running].sort());
      for (const d of [target, join(target, 'docs')]) for (const n of await temps(d)) await rm(join(d, n));
    }
  });

  it('restores 10,000 small files with at most 100 GETs', async (t) => {
    const { repo } = await newRepo({ packSize: 8 * 1024 * 1024 });
    const rng = makeRng(11);
    const spec: Spec = {};
    for (let d = 0; d < 100; d++) {
      const children: Spec = {};
      for (let f = 0; f < 100; f++) children[`f${f}.dat`] = file(rng.bytes(200));
      spec[`d${d}`] = dir(children);
    }
    const root = await saveLayer(repo, spec);
    const target = await tempDir(t);
    const stats = await restoreTree(repo, { target, root });
    assert.equal(stats.files, 10_000);
    assert.ok(stats.gets <= 100, `${stats.gets} GETs`);
    assert.equal(stats.bytesDownloaded, 2_000_000);
    assert.deepEqual(await listing(target), expectedListing(spec));
  });

  it('a corrupted chunk fails with E_CHUNK_HASH_MISMATCH and the old file stays', async (t) => {
    const store = new MemoryStore();
    const { repo } = await newRepo({ store });
    const spec: Spec = { 'f.txt': file('the new content of f'), 'g.txt': file('g') };
    const root = await saveLayer(repo, spec);
    const target = await tempDir(t);
    await writeFile(join(target, 'f.txt'), 'old');
    const loc = repo.blobLocation(repo.blobId(Buffer.from('the new content of f')));
    assert.ok(loc);
    const pack = Buffer.from(await store.get(keys.pack(loc.pack)));
    pack.writeUInt8(pack.readUInt8(loc.offset) ^ 1, loc.offset);
    await store.put(keys.pack(loc.pack), pack);
    const err = await restoreTree(repo, { target, root }).catch((e: unknown) => e);
    assert.ok(err instanceof StrataError && err.code === 'E_CHUNK_HASH_MISMATCH', String(err));
    assert.equal(await readFile(join(target, 'f.txt'), 'utf8'), 'old');
    assert.deepEqual((await readdir(target)).filter((n) => n.startsWith('.strata-tmp-')), []);
  });

  it('creates the target and restores into one that holds unrelated folders', async (t) => {
    const { repo } = await newRepo();
    const root = await saveLayer(repo, { x: dir({ y: file('y') }) });
    const target = await tempDir(t);
    await mkdir(join(target, 'other'));
    await restoreTree(repo, { target: join(target, 'new', 'deeper'), root });
    assert.equal(await readFile(join(target, 'new/deeper/x/y'), 'utf8'), 'y');
  });

  it('a target that is a file, or lies below one, is E_BAD_TARGET naming it', async (t) => {
    const { repo } = await newRepo();
    const root = await saveLayer(repo, { x: file('x') });
    const base = await tempDir(t);
    await writeFile(join(base, 'a-file'), 'keep');
    for (const target of [join(base, 'a-file'), join(base, 'a-file', 'below')]) {
      const err = await restoreTree(repo, { target, root }).catch((e: unknown) => e);
      assert.ok(err instanceof StrataError && err.code === 'E_BAD_TARGET', String(err));
      assert.equal(err.path, target);
    }
    assert.equal(await readFile(join(base, 'a-file'), 'utf8'), 'keep');
  });
});
