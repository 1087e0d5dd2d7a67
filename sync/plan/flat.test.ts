import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isStrataError } from '../errors.js';
import type { Tree } from '../repo/types.js';
import { MAX_FLAT_DEPTH, contentKey, countFiles, directories, flatten, hasWhiteouts, withoutWhiteouts } from './flat.js';
import { show, tree, wellFormedProblem } from './testkit.js';

const id = (c: string) => c.repeat(64);

const trees: Record<string, Tree> = {
  root: {
    entries: [
      { name: 'a.txt', type: 'file', mode: 0o644, mtimeMs: 5, size: 3, chunks: [id('1')] },
      { name: 'docs', type: 'dir', mode: 0o755, mtimeMs: 6, subtree: 'docs' },
      { name: 'gone', type: 'whiteout' },
      { name: 'link', type: 'symlink', mtimeMs: 7, target: 'a.txt' },
    ],
  },
  docs: { entries: [{ name: 'b', type: 'file', mode: 0o600, mtimeMs: 8, size: 6, chunks: [id('1'), id('2')] }] },
};

describe('flat trees', () => {
  it('flattens a Merkle tree, whiteouts included', () => {
    const flat = flatten(trees.root as Tree, (sub) => trees[sub] as Tree);
    assert.deepEqual([...flat.keys()], ['a.txt', 'docs', 'docs/b', 'gone', 'link']);
    assert.deepEqual(flat.get('gone'), { type: 'whiteout' });
    assert.deepEqual(flat.get('a.txt'), { type: 'file', size: 3, mtimeMs: 5, mode: 0o644, content: contentKey([id('1')]) });
    assert.deepEqual(flat.get('docs'), { type: 'dir', mode: 0o755 });
    assert.deepEqual(flat.get('link'), { type: 'symlink', target: 'a.txt', mtimeMs: 7 });
  });

  it('gives equal chunk lists equal keys, and different lists different keys', () => {
    assert.equal(contentKey([id('1'), id('2')]), contentKey([id('1'), id('2')]));
    assert.notEqual(contentKey([id('1'), id('2')]), contentKey([id('2'), id('1')]));
    assert.notEqual(contentKey([]), contentKey([id('1')]));
    assert.equal(contentKey([id('1')]), id('1'), 'one chunk: its id');
    assert.notEqual(contentKey([id('1'), id('2')]), id('1'));
  });

  it('refuses a name that is not one path component', () => {
    const bad: Tree = { entries: [{ name: '../x', type: 'symlink', mtimeMs: 0, target: 't' }] };
    assert.throws(() => flatten(bad, () => bad), (e) => isStrataError(e, 'E_BAD_PATH'));
  });

  it('refuses, before expanding them, shared subtrees naming billions of paths, and folders nested too deep', () => {
    // Level i holds two entries, both level i+1: 40 small trees naming 2^40 paths.
    const levels: Record<string, Tree> = { t40: { entries: [{ name: 'f', type: 'symlink', mtimeMs: 0, target: 'x' }] } };
    for (let i = 39; i >= 0; i--) levels[`t${i}`] = { entries: ['a', 'b'].map((name) => ({ name, type: 'dir' as const, mode: 0o755, mtimeMs: 0, subtree: `t${i + 1}` })) };
    assert.throws(() => flatten(levels.t0 as Tree, (id) => levels[id] as Tree), (e) => isStrataError(e, 'E_BAD_TREE') && /paths/.test(e.message));
    const deep: Record<string, Tree> = {};
    for (let i = 0; i <= MAX_FLAT_DEPTH + 1; i++) deep[`d${i}`] = { entries: i === MAX_FLAT_DEPTH + 1 ? [] : [{ name: 'n', type: 'dir', mode: 0o755, mtimeMs: 0, subtree: `d${i + 1}` }] };
    assert.throws(() => flatten(deep.d0 as Tree, (id) => deep[id] as Tree), (e) => isStrataError(e, 'E_BAD_TREE') && /deeper/.test(e.message));
    const ok: Record<string, Tree> = {};
    for (let i = 0; i < MAX_FLAT_DEPTH; i++) ok[`d${i}`] = { entries: i === MAX_FLAT_DEPTH - 1 ? [] : [{ name: 'n', type: 'dir', mode: 0o755, mtimeMs: 0, subtree: `d${i + 1}` }] };
    assert.equal(flatten(ok.d0 as Tree, (id) => ok[id] as Tree).size, MAX_FLAT_DEPTH - 1, 'as deep as allowed');
  });

  it('lists every dir deepest first with sorted entries, for writing trees back', () => {
    const flat = flatten(trees.root as Tree, (sub) => trees[sub] as Tree);
    const dirs = directories(flat);
    assert.deepEqual(dirs.map(([d, entries]) => [d, entries.map(([n]) => n)]), [
      ['docs', ['b']],
      ['', ['a.txt', 'docs', 'gone', 'link']],
    ]);
    assert.deepEqual(dirs[1]?.[1][2], ['gone', { type: 'whiteout' }], 'a whiteout is written back as one');
    assert.deepEqual(directories(new Map()), [['', []]]);
  });

  it('counts files and symlinks but not dirs or whiteouts', () => {
    assert.equal(countFiles(tree({ 'd/f': 'X', l: '->t', w: '~', 'd/w': '~', 'e/': '' })), 2);
  });

  it('strips whiteouts, keeping the tree well-formed', () => {
    const t = tree({ 'd/f': 'X', 'd/w': '~', w: '~' });
    assert.equal(hasWhiteouts(t), true);
    const stripped = withoutWhiteouts(t);
    assert.deepEqual(show(stripped), show(tree({ 'd/f': 'X' })));
    assert.equal(hasWhiteouts(stripped), false);
    assert.equal(wellFormedProblem(stripped), undefined);
  });
});
