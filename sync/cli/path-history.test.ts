import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { BlobId, TreeEntry } from '../repo/types.js';
import { changeFrom } from './path-history.js';

const file = (chunk: string, mtimeMs = 1): TreeEntry => ({ name: 'a.txt', type: 'file', mode: 0o644, mtimeMs, size: 1, chunks: [chunk as BlobId] });

it('a path changed in a snapshot only where its content differs from every parent', () => {
  assert.equal(changeFrom(file('x'), []), 'added', 'no parent left: it has it');
  assert.equal(changeFrom(undefined, []), undefined);
  assert.equal(changeFrom(file('x', 2), [file('x', 1)]), undefined, 'a time alone is no change');
  assert.equal(changeFrom(file('y'), [file('x')]), 'changed');
  assert.equal(changeFrom(undefined, [file('x')]), 'deleted');
  assert.equal(changeFrom(file('x'), [undefined]), 'added');
  assert.equal(changeFrom(file('x'), [{ name: 'a.txt', type: 'whiteout' }]), 'added', 'a whiteout is as nothing');
  // A merge that took one side's version: that side's snapshot changed it, not the merge.
  assert.equal(changeFrom(file('y'), [file('x'), file('y')]), undefined);
  assert.equal(changeFrom(file('z'), [file('x'), file('y')]), 'changed');
  assert.equal(changeFrom(file('z'), [undefined, file('y')]), 'changed');
  assert.equal(changeFrom(undefined, [undefined, file('y')]), undefined);
});
