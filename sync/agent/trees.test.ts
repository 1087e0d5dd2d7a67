import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStrataError } from '../errors.js';
import { contentKey, type Node } from '../plan/index.js';
import { newRepo, saveTreeBomb } from '../repo/testkit.js';
import { decodeTree } from '../repo/index.js';
import type { BlobId, BlobType } from '../repo/types.js';
import type { FolderOptions } from './folder.js';
import { converge, twoDevices } from './testkit.js';
import { TreeCache } from './trees.js';

/** A tree bomb of `levels` (saveTreeBomb), with a count of the trees its loading asks for. */
async function bomb(levels: number) {
  const { repo } = await newRepo();
  const id = await saveTreeBomb(repo, levels);
  let asked = 0;
  const load = repo.loadTrees.bind(repo);
  repo.loadTrees = (ids, onTree, opts) => {
    const list = [...ids];
    asked += list.length;
    return load(list, onTree, opts);
  };
  return { repo, root: id, asked: () => asked };
}

test('loading a tree of shared subtrees walks each distinct tree once, and a bomb of them is refused, not expanded', async () => {
  const small = await bomb(16);
  const cache = new TreeCache(small.repo);
  await cache.loadAll(small.root);
  assert.equal(small.asked(), 17, 'each of the 17 trees asked for once');
  assert.equal(cache.flat(small.root, new Map()).size, 2 ** 17 - 2 + 2 ** 16, 'every path of the small one');

  // 40 levels name 2^40 paths: the walk must neither list them nor expand them.
  const big = await bomb(40);
  const trees = new TreeCache(big.repo);
  await trees.loadAll(big.root);
  assert.throws(() => trees.flat(big.root, new Map()), (e) => isStrataError(e, 'E_BAD_TREE'));
});

test("a pass after one edit encodes and adds only the trees on the edited file's path, and the other device gets the edit", async (t) => {
  const { a, b } = await twoDevices(t, 'trees-one-edit');
  for (let i = 0; i < 20; i++) await a.write(`d${i}/sub/f.txt`, `file ${i}`);
  await a.write('x/y/z/f.txt', 'deep');
  await converge([a, b]);
  const repo = (a.folder as unknown as { opts: FolderOptions }).opts.repo;
  const added: string[] = [];
  const addBlob = repo.addBlob.bind(repo);
  t.mock.method(repo, 'addBlob', (type: BlobType, id: BlobId, data: Uint8Array) => {
    if (type === 'tree') added.push(decodeTree(data, 'test', id).entries.map((e) => e.name).join(','));
    return addBlob(type, id, data);
  });
  await a.write('x/y/z/f.txt', 'deep, edited');
  assert.equal((await a.pass()).status, 'synced');
  assert.deepEqual(added.sort(), ['d0,d1,d10,d11,d12,d13,d14,d15,d16,d17,d18,d19,d2,d3,d4,d5,d6,d7,d8,d9,x', 'f.txt', 'y', 'z'].sort(), 'the root, x, x/y and x/y/z');
  await converge([a, b]);
  assert.equal(await b.read('x/y/z/f.txt'), 'deep, edited');
});

test('the flat tree of a root this cache wrote is what flattening its trees gives, and the caller may change it', async () => {
  const { repo } = await newRepo();
  const [one, two, three] = ['1', '2', '3'].map((c) => c.repeat(64)) as [string, string, string];
  const chunks = new Map<string, readonly string[]>([
    [contentKey([one]), [one]],
    [contentKey([two, three]), [two, three]],
  ]);
  const written = new TreeCache(repo);
  const tree = (link: Node): Map<string, Node> =>
    new Map<string, Node>([
      ['docs', { type: 'dir', mode: 0o755 }],
      ['docs/a.txt', { type: 'file', size: 3, mtimeMs: 1000, mode: 0o644, content: contentKey([one]) }],
      ['docs/big.bin', { type: 'file', size: 9, mtimeMs: 2000, mode: 0o600, content: contentKey([two, three]) }],
      ['docs/link', link],
      ['gone.txt', { type: 'whiteout' }],
    ]);
  for (const link of [{ type: 'symlink', target: 'a.txt', mtimeMs: 3000 }, { type: 'symlink', target: 'a.txt' }] as Node[]) {
    const root = await written.write(tree(link), chunks);
    await repo.flush();
    const read = new TreeCache(repo);
    await read.loadAll(root);
    const readChunks = new Map();
    const expected = read.flat(root, readChunks);
    await written.loadAll(root);
    const got = new Map();
    const flat = written.flat(root, got);
    assert.deepEqual(flat, expected);
    assert.deepEqual(got, readChunks, 'the chunk list of each file');
    flat.delete('docs/a.txt');
    assert.deepEqual(written.flat(root, new Map()), expected, 'unchanged by what the caller did to the last one');
  }
});
