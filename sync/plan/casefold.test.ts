import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { foldKey, hasCaseCollisions, resolveCaseCollisions } from './casefold.js';
import { show, tree } from './testkit.js';

describe('case folding', () => {
  it('folds case and Unicode normalization together', () => {
    assert.equal(foldKey('Docs/REPORT.txt'), foldKey('docs/report.TXT'));
    assert.equal(foldKey('caf\u00e9'), foldKey('CAFE\u0301'));
    assert.equal(foldKey('\u039f\u0394\u039f\u03a3'), foldKey('\u03bf\u03b4\u03bf\u03c3'), 'final sigma');
    assert.notEqual(foldKey('a'), foldKey('b'));
    assert.ok(hasCaseCollisions(['x/A', 'x/a']));
    assert.ok(!hasCaseCollisions(['A/x', 'a']));
  });

  it('leaves a tree without collisions untouched', () => {
    const t = tree({ 'A/x': 'X', 'b/y': 'Y', l: '->t' });
    const r = resolveCaseCollisions(t, () => 'pc');
    assert.deepEqual(show(r.tree), show(t));
    assert.deepEqual(r.conflicts, []);
  });

  it('unites dirs recursively and moves colliding files aside', () => {
    const t = tree({ 'D/x/1': 'ONE', 'd/X/2': 'TWO', 'd/X/1': 'OTHER', 'd/f': 'F' });
    const r = resolveCaseCollisions(t, (p) => (p.startsWith('d/') ? 'lower' : 'upper'));
    assert.deepEqual(
      show(r.tree),
      show(tree({ 'D/x/1': 'ONE', 'D/x/2': 'TWO', 'D/x/1.sync-conflict-20261122-031500-lower': 'OTHER', 'D/f': 'F' })),
    );
    assert.deepEqual(r.conflicts, [{ path: 'D/x/1', copy: 'D/x/1.sync-conflict-20261122-031500-lower', device: 'lower', reason: 'case' }]);
    assert.equal(r.relocate('d/X/2'), 'D/x/2');
    assert.equal(r.relocate('d/X/1'), 'D/x/1.sync-conflict-20261122-031500-lower');
  });

  it('lets a dir take the name from a file that sorts first', () => {
    const r = resolveCaseCollisions(tree({ N: 'FILE', 'n/x': 'X' }), () => 'pc');
    assert.deepEqual(show(r.tree), show(tree({ 'n/x': 'X', 'N.sync-conflict-20261122-031500-pc': 'FILE' })));
  });

  it('never picks a conflict name that folds like another path of the input', () => {
    const r = resolveCaseCollisions(tree({ a: 'X', A: 'Y', 'A.sync-conflict-20261122-031500-pc': 'Z' }), () => 'pc');
    assert.ok(r.tree.has('A.sync-conflict-20261122-031500-pc'));
    assert.equal(r.tree.size, 3);
    assert.ok(!hasCaseCollisions(r.tree.keys()));
  });
});
