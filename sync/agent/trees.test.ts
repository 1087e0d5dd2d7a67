import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStrataError } from '../errors.js';
import { newRepo, saveTreeBomb } from '../repo/testkit.js';
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
