import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStrataError } from '../errors.js';
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
