import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Node } from '../plan/index.js';
import { putBack } from './put-back.js';

const dir: Node = { type: 'dir', mode: 0o755 };
const file = (content: string): Node => ({ type: 'file', size: content.length, mtimeMs: 1000, mode: 0o644, content });
const tree = (entries: Record<string, Node>) => new Map(Object.entries(entries));
const none = { hidden: () => false };

describe('putting deleted files back', () => {
  it('adds the missing files with their folders, in path order', () => {
    const was = tree({ a: dir, 'a/b': dir, 'a/b/x.txt': file('x'), 'y.txt': file('y') });
    const r = putBack(tree({ 'z.txt': file('z') }), [{ tree: was, paths: ['a/b/x.txt', 'y.txt'] }], none);
    assert.equal(r.restored, 2);
    assert.deepEqual([...r.tree.keys()], ['a', 'a/b', 'a/b/x.txt', 'y.txt', 'z.txt']);
    assert.deepEqual(r.tree.get('a/b/x.txt'), file('x'));
  });

  it('replaces nothing: a path there now, a parent that is no longer a dir, a hidden path, a name present in another case', () => {
    const was = tree({ 'x.txt': file('old'), d: dir, 'd/y.txt': file('y'), 'h.txt': file('h'), 'Case.txt': file('c'), 'gone.txt': file('g') });
    const now = tree({ 'x.txt': file('new'), d: file('now a file'), 'case.txt': file('other') });
    const r = putBack(now, [{ tree: was, paths: ['x.txt', 'd/y.txt', 'h.txt', 'Case.txt', 'gone.txt', 'never.txt'] }], { hidden: (p) => p === 'h.txt', caseInsensitive: true });
    assert.equal(r.restored, 1);
    assert.deepEqual(r.tree, tree({ 'case.txt': file('other'), d: file('now a file'), 'gone.txt': file('g'), 'x.txt': file('new') }));
    assert.equal(putBack(now, [{ tree: was, paths: ['Case.txt'] }], none).restored, 1, 'a case-sensitive disk takes both names');
  });
});
