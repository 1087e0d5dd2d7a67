// planApply scenarios: the exact operations for the cases the executor must get right.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isStrataError } from '../errors.js';
import { planApply } from './apply.js';
import { countFiles } from './flat.js';
import { interpret } from './interpret.js';
import type { ApplyOp } from './ops.js';
import { needsConfirmation, deleteRatio } from './ops.js';
import { show, tree } from './testkit.js';
import type { FlatTree } from './types.js';

/** Ops in a short form: 'move a → b', 'write f', 'delete d'. */
function brief(ops: readonly ApplyOp[]): string[] {
  return ops.map((op) => (op.op === 'copy' || op.op === 'move' ? `${op.op} ${op.from} → ${op.path}` : `${op.op} ${op.path}`));
}

function plan(local: FlatTree, merged: FlatTree, caseInsensitive = false) {
  const p = planApply(local, merged, { caseInsensitive });
  assert.deepEqual(show(interpret(local, p.ops, { caseInsensitive })), show(merged));
  return p;
}

describe('planApply', () => {
  it('moves a local version to its conflict name before the new version takes the name', () => {
    const local = tree({ 'd/report.docx': 'MINE@2' });
    const merged = tree({ 'd/report.docx': 'THEIRS@3', 'd/report.sync-conflict-20261122-031700-laptop.docx': 'MINE@2' });
    const p = plan(local, merged);
    assert.deepEqual(brief(p.ops), ['move d/report.docx → d/report.sync-conflict-20261122-031700-laptop.docx', 'write d/report.docx']);
    const [move, write] = p.ops;
    assert.equal(move?.op === 'move' && move.expectFrom.content, 'MINE');
    assert.equal(move?.expect, null);
    assert.equal(write?.expect, null, 'the name is empty once the local version moved away');
  });

  it('replaces a file in place, expecting the scanned version', () => {
    const local = tree({ f: 'OLD' });
    const p = plan(local, tree({ f: 'NEW@1' }));
    assert.deepEqual(brief(p.ops), ['write f']);
    assert.deepEqual(p.ops[0]?.expect, local.get('f'));
    assert.equal(p.summary.fetchBytes, 3);
  });

  it('changes a type as delete then create, children after their dir', () => {
    const p = plan(tree({ f: 'X', 'd/a': 'A' }), tree({ 'f/x': 'FX', d: 'D' }));
    assert.deepEqual(brief(p.ops), ['delete f', 'delete d/a', 'delete d', 'write d', 'mkdir f', 'write f/x']);
  });

  it('deletes children before their dirs', () => {
    const p = plan(tree({ 'd/a': 'A', 'd/s/b': 'B', 'd/s/c/': '' }), tree({}));
    assert.deepEqual(brief(p.ops), ['delete d/s/c', 'delete d/s/b', 'delete d/s', 'delete d/a', 'delete d']);
    assert.equal(p.summary.deletedFiles, 2);
    assert.equal(p.summary.deletedDirs, 3);
  });

  it('moves a renamed file into a new dir instead of fetching it', () => {
    const p = plan(tree({ a: 'X' }), tree({ 'n/a': 'X' }));
    assert.deepEqual(brief(p.ops), ['mkdir n', 'move a → n/a']);
  });

  it('swaps two files through a stash, fetching nothing', () => {
    const p = plan(tree({ a: 'X', b: 'Y' }), tree({ a: 'Y', b: 'X' }));
    assert.deepEqual(brief(p.ops), ['move a → .strata-stash-1', 'move b → a', 'move .strata-stash-1 → b']);
    assert.equal(p.summary.writes, 0);
  });

  it('renames case-only on a case-insensitive disk with one move', () => {
    const p = plan(tree({ 'a/File.txt': 'X' }), tree({ 'a/file.txt': 'X' }), true);
    assert.deepEqual(brief(p.ops), ['move a/File.txt → a/file.txt']);
  });

  it('copies from a local file that keeps its content', () => {
    const p = plan(tree({ a: 'X' }), tree({ a: 'X', b: 'X' }));
    assert.deepEqual(brief(p.ops), ['copy a → b']);
  });

  it('only sets metadata when the content is already right', () => {
    const p = plan(tree({ f: 'X', 'd/': '755' }), tree({ f: 'X@4#600', 'd/': '700' }));
    assert.deepEqual(brief(p.ops), ['setmeta d', 'setmeta f']);
  });

  it('has nothing to do for an equal tree', () => {
    const t = tree({ 'a/b': 'X', l: '->t' });
    assert.deepEqual(planApply(t, t).ops, []);
  });

  it('lays a whiteout as nothing: deletes what the disk has there, writes nothing', () => {
    const local = tree({ 'd/f': 'X', 'd/g': 'G', h: 'H' });
    const merged = tree({ 'd/f': '~', 'd/g': 'G', h: '~', n: '~' });
    const p = planApply(local, merged);
    assert.deepEqual(brief(p.ops), ['delete h', 'delete d/f']);
    assert.deepEqual(show(interpret(local, p.ops)), show(tree({ 'd/g': 'G' })));
    assert.deepEqual(planApply(tree({ 'd/g': 'G' }), merged).ops, []);
  });

  it('refuses a scanned tree holding a whiteout, and lets a whiteout fold like a file on a case-insensitive disk', () => {
    assert.throws(() => planApply(tree({ w: '~' }), tree({})), (e) => isStrataError(e, 'E_PLAN_BAD_TREE') && e.path === 'w');
    assert.deepEqual(brief(planApply(tree({}), tree({ A: '~', a: 'X' }), { caseInsensitive: true }).ops), ['write a']);
    const underWhiteout = new Map(tree({ w: '~' }));
    underWhiteout.set('w/x', tree({ x: 'X' }).get('x')!);
    assert.throws(() => planApply(tree({}), underWhiteout), (e) => isStrataError(e, 'E_PLAN_BAD_TREE') && e.path === 'w/x');
  });

  it('refuses a merged tree that is not well-formed or collides on a case-insensitive disk', () => {
    const orphan = new Map(tree({ 'd/f': 'X' }));
    orphan.delete('d');
    assert.throws(() => planApply(tree({}), orphan), (e) => isStrataError(e, 'E_PLAN_BAD_TREE') && e.path === 'd/f');
    assert.throws(() => planApply(tree({}), tree({ a: 'X', A: 'Y' }), { caseInsensitive: true }), (e) => isStrataError(e, 'E_PLAN_BAD_TREE'));
    assert.doesNotThrow(() => planApply(tree({}), tree({ a: 'X', A: 'Y' })));
  });
});

describe('needsConfirmation', () => {
  const local = tree({ a: 'A', b: 'B', c: 'C', 'd/e': 'E' });
  it('holds a plan that deletes more than half of the files', () => {
    const p = planApply(local, tree({ a: 'A' }));
    assert.equal(countFiles(local), 4);
    assert.equal(deleteRatio(p, 4), 0.75);
    assert.equal(needsConfirmation(p, countFiles(local)), true);
  });
  it('counts no whiteout as a file', () => {
    const withWhiteouts = tree({ a: 'A', b: 'B', w1: '~', w2: '~', w3: '~' });
    assert.equal(countFiles(withWhiteouts), 2);
    assert.equal(needsConfirmation(planApply(tree({ a: 'A', b: 'B' }), tree({ a: 'A', b: '~' })), countFiles(withWhiteouts)), false);
  });
  it('lets exactly half through, and counts moves and replacements as no deletes', () => {
    assert.equal(needsConfirmation(planApply(local, tree({ a: 'A', b: 'B' })), 4), false);
    assert.equal(needsConfirmation(planApply(local, tree({ x: 'A', y: 'B', c: 'C2', 'd/e': 'E2' })), 4), false);
    assert.equal(needsConfirmation(planApply(tree({}), tree({ a: 'A' })), 0), false);
  });
});
