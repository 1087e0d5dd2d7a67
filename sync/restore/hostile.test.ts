import assert from 'node:assert/strict';
import { lstat, mkdir, readFile, readdir, readlink, rename, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { chunkFileHere } from '../chunker/index.js';
import { StrataError } from '../errors.js';
import { makeFifo, notWaitingOn } from '../testing/fifo.js';
import { restoreTree } from './index.js';
import { MTIME, dir, file, link, newRepo, saveLayer, tempDir, type Spec } from './testkit.js';
import type { ChunkFileFn } from './types.js';

async function setup(t: Parameters<typeof tempDir>[0]) {
  const base = await tempDir(t, 'hostile');
  const target = join(base, 'target');
  const sentinel = join(base, 'sentinel');
  await mkdir(target);
  await mkdir(sentinel);
  return { target, sentinel };
}

async function failsWith(p: Promise<unknown>, code: string): Promise<StrataError> {
  const err = await p.catch((e: unknown) => e);
  assert.ok(err instanceof StrataError, `expected ${code}, got ${String(err)}`);
  assert.equal(err.code, code, err.toString());
  return err;
}

describe('restore: hostile trees', () => {
  it('lays links as links whatever they point at (absolute, above the root, a drive), following none', async (t) => {
    const { repo } = await newRepo();
    const spec: Spec = { 'a.txt': file('a'), etc: link('/etc'), sub: dir({ x: link('../../sentinel/planted') }), w: link('C:\\Windows'), b: link('.'), l: link('b/../sentinel/planted') };
    const root = await saveLayer(repo, spec);
    const { target, sentinel } = await setup(t);
    await restoreTree(repo, { target, root });
    assert.equal(await readlink(join(target, 'etc')), '/etc');
    assert.equal(await readlink(join(target, 'sub/x')), '../../sentinel/planted');
    assert.equal(await readlink(join(target, 'w')), 'C:\\Windows');
    assert.equal(await readlink(join(target, 'l')), 'b/../sentinel/planted');
    assert.deepEqual(await readdir(sentinel), [], 'nothing written where a link points');
  });

  it('never writes through a symlinked folder already on disk: it is replaced by a real folder', async (t) => {
    const { repo } = await newRepo();
    const root = await saveLayer(repo, { evil: dir({ 'payload.txt': file('owned'), inner: dir({ 'deep.txt': file('deep') }) }) });
    const { target, sentinel } = await setup(t);
    await symlink(sentinel, join(target, 'evil'));
    await restoreTree(repo, { target, root });
    assert.ok((await lstat(join(target, 'evil'))).isDirectory());
    assert.equal(await readFile(join(target, 'evil/payload.txt'), 'utf8'), 'owned');
    assert.deepEqual(await readdir(sentinel), []);
  });

  it('replaces (never follows) a symlink or file where a file, link or folder must go', async (t) => {
    const { repo } = await newRepo();
    const spec: Spec = { 'f.txt': file('mine'), l: link('f.txt'), d: dir({ 'in.txt': file('in') }), 'was-dir': file('now a file') };
    const root = await saveLayer(repo, spec);
    const { target, sentinel } = await setup(t);
    await writeFile(join(sentinel, 'victim'), 'keep');
    await symlink(join(sentinel, 'victim'), join(target, 'f.txt'));
    await writeFile(join(target, 'l'), 'a plain file');
    await writeFile(join(target, 'd'), 'a file where a folder goes');
    await mkdir(join(target, 'was-dir/sub'), { recursive: true });
    await restoreTree(repo, { target, root });
    assert.equal(await readFile(join(sentinel, 'victim'), 'utf8'), 'keep');
    assert.equal(await readFile(join(target, 'f.txt'), 'utf8'), 'mine');
    assert.ok((await lstat(join(target, 'f.txt'))).isFile());
    assert.equal(await readlink(join(target, 'l')), 'f.txt');
    assert.equal(await readFile(join(target, 'd/in.txt'), 'utf8'), 'in');
    assert.equal(await readFile(join(target, 'was-dir'), 'utf8'), 'now a file');
  });

  it('with `aside`, moves a link where a folder goes aside itself, never looking through it', async (t) => {
    const { repo } = await newRepo();
    const root = await saveLayer(repo, { evil: dir({ 'x.txt': file('x') }) });
    const { target, sentinel } = await setup(t);
    await mkdir(join(sentinel, 'x.txt'));
    await symlink(sentinel, join(target, 'evil'));
    const stats = await restoreTree(repo, { target, root, aside: { device: 'pc' } });
    assert.deepEqual(await readdir(sentinel), ['x.txt']);
    assert.ok((await lstat(join(sentinel, 'x.txt'))).isDirectory(), 'nothing moved where the link points');
    assert.equal(await readFile(join(target, 'evil/x.txt'), 'utf8'), 'x');
    assert.equal(stats.movedAside.length, 1);
    assert.equal(await readlink(join(target, stats.movedAside[0]?.copy as string)), sentinel);
  });

  it('never restores setuid/setgid bits', async (t) => {
    const { repo } = await newRepo();
    const root = await saveLayer(repo, { suid: file('x', 0o6755), d: dir({}, 0o2775) });
    const { target } = await setup(t);
    await restoreTree(repo, { target, root });
    assert.equal((await stat(join(target, 'suid'))).mode & 0o7777, 0o755);
    assert.equal((await stat(join(target, 'd'))).mode & 0o7777, 0o775);
  });

  it('refuses a file whose chunks do not add up to its size, before writing', async (t) => {
    const { repo } = await newRepo();
    const data = Buffer.from('twelve bytes');
    await repo.addBlob('data', repo.blobId(data), data);
    const root = await repo.saveTree({ entries: [{ name: 'f', type: 'file', mode: 0o644, mtimeMs: MTIME, size: 9999, chunks: [repo.blobId(data)] }] });
    await repo.flush();
    const { target } = await setup(t);
    const err = await failsWith(restoreTree(repo, { target, root }), 'E_BAD_TREE');
    assert.equal(err.path, 'f');
    assert.deepEqual(await readdir(target), []);
  });

  it('refuses a file whose chunk is a tree blob', async (t) => {
    const { repo } = await newRepo();
    const sub = await repo.saveTree({ entries: [] });
    const root = await repo.saveTree({ entries: [{ name: 'f', type: 'file', mode: 0o644, mtimeMs: MTIME, size: 14, chunks: [sub] }] });
    await repo.flush();
    const { target } = await setup(t);
    await failsWith(restoreTree(repo, { target, root }), 'E_BAD_TREE');
  });

  it('refuses shared subtrees that repeat a file of many chunks into more chunk places than any layer has, before planning them', async (t) => {
    const { repo } = await newRepo();
    const one = Buffer.from('x');
    const id = repo.blobId(one);
    await repo.addBlob('data', id, one);
    // 9 trees, a few MB: 256 paths to one file of 100,000 one-byte chunks, 25.6 million places.
    const n = 100_000;
    let tree = await repo.saveTree({ entries: [{ name: 'f', type: 'file', mode: 0o644, mtimeMs: MTIME, size: n, chunks: Array<string>(n).fill(id) }] });
    for (let i = 0; i < 8; i++) tree = await repo.saveTree({ entries: ['a', 'b'].map((name) => ({ name, type: 'dir' as const, mode: 0o755, mtimeMs: MTIME, subtree: tree })) });
    await repo.flush();
    const { target } = await setup(t);
    const before = process.memoryUsage().heapUsed;
    const err = await failsWith(restoreTree(repo, { target, root: tree }), 'E_BAD_TREE');
    assert.match(err.message, /chunk places/);
    assert.ok(process.memoryUsage().heapUsed - before < 512 * 1024 * 1024, 'refused before planning the places');
    assert.deepEqual(await readdir(target), []);
  });

  it('refuses a shared-subtree bomb that nests deeper than any real folder', async (t) => {
    const { repo } = await newRepo();
    let tree = await repo.saveTree({ entries: [] });
    for (let i = 0; i < 600; i++) tree = await repo.saveTree({ entries: [{ name: 'd', type: 'dir', mode: 0o755, mtimeMs: MTIME, subtree: tree }] });
    await repo.flush();
    const { target } = await setup(t);
    await failsWith(restoreTree(repo, { target, root: tree }), 'E_BAD_TREE');
    assert.deepEqual(await readdir(target), []);
  });

  it('a file whose content was right, swapped for a FIFO before its mode and time are set, fails the restore without waiting on it', { skip: process.platform === 'win32' && 'no FIFOs on Windows', timeout: 60_000 }, async (t) => {
    const { repo } = await newRepo();
    const root = await saveLayer(repo, { 'f.txt': file('the bytes of the layer') });
    const { target, sentinel } = await setup(t);
    const path = join(target, 'f.txt');
    // The layer's bytes with another mtime: left in place, its mode and time set.
    await writeFile(path, 'the bytes of the layer');
    const swapping: ChunkFileFn = async (p, params, hash) => {
      const chunked = await chunkFileHere(p, params, hash);
      await rename(p, join(sentinel, 'kept'));
      makeFifo(p);
      return chunked;
    };
    const err = await failsWith(notWaitingOn(path, restoreTree(repo, { target, root, chunkFile: swapping })), 'E_RESTORE_RACE');
    assert.equal(err.path, path);
    assert.ok((await lstat(path)).isFIFO());
    assert.equal(await readFile(join(sentinel, 'kept'), 'utf8'), 'the bytes of the layer');
  });
});
