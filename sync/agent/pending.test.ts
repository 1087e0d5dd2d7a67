import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Node } from '../plan/index.js';
import { overlayPending } from './pending.js';

const dir: Node = { type: 'dir', mode: 0o755 };
const file = (content: string): Node => ({ type: 'file', size: content.length, mtimeMs: 1000, mode: 0o644, content });
const tree = (entries: Record<string, Node>) => new Map(Object.entries(entries));

test('unchanged paths take the pending merge, changed ones the disk', () => {
  const merged = tree({ a: file('theirs'), b: file('theirs-b'), d: dir, 'd/x': file('x'), 'd/y': file('y') });
  // The executor wrote `a` and created `d` with `d/x`, then stopped; the user then edited `b`.
  const disk = tree({ a: file('theirs'), b: file('user'), d: dir, 'd/x': file('x') });
  const out = overlayPending(disk, merged, new Set(['a', 'b', 'd', 'd/x']));
  assert.deepEqual(out, tree({ a: file('theirs'), b: file('user'), d: dir, 'd/x': file('x'), 'd/y': file('y') }), 'the unwritten d/y is not a local delete');
});

test('a changed path the disk lacks takes its subtree with it', () => {
  const merged = tree({ d: dir, 'd/x': file('x'), 'd/e': dir, 'd/e/z': file('z'), keep: file('k') });
  const disk = tree({ keep: file('k') });
  assert.deepEqual(overlayPending(disk, merged, new Set(['d'])), tree({ keep: file('k') }));
});

test('an ancestor that is no dir in the merged tree follows the disk', () => {
  const merged = tree({ p: file('was a file') });
  const disk = tree({ p: dir, 'p/new': file('n') });
  assert.deepEqual(overlayPending(disk, merged, new Set(['p/new'])), tree({ p: dir, 'p/new': file('n') }));
});
