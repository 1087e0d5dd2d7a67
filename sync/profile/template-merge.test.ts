// dropSupersededCopies on flat trees: a conflict copy of the last template's version that the user
// left as it was goes when the template brings a new version, whatever counter its name took.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { conflictName, type FileNode, type Node } from '../plan/index.js';
import { dropSupersededCopies } from './template-merge.js';

const DEVICE = 'admin';
const OLD_MTIME = Date.parse('2024-05-01T09:00:00Z');

function file(content: string, mtimeMs = OLD_MTIME): FileNode {
  return { type: 'file', size: content.length, mtimeMs, mode: 0o644, content };
}

describe('dropSupersededCopies', () => {
  it("drops the user's untouched copy of the last template version whatever its counter, even past the folder's number of names", () => {
    const old = file('policy v1');
    // The user edited policy.txt; copies 1 and 2 of earlier keep-boths were deleted, the third is left as the merge wrote it.
    const copy = `docs/${conflictName('policy.txt', OLD_MTIME, DEVICE, 3)}`;
    const layer = new Map<string, Node>([
      ['docs', { type: 'dir', mode: 0o755 }],
      ['docs/policy.txt', file('policy edited by the user')],
      [copy, old],
    ]);
    const was = new Map<string, Node>([['docs', { type: 'dir', mode: 0o755 }], ['docs/policy.txt', old]]);
    const record = new Map<string, Node>([['docs', { type: 'dir', mode: 0o755 }], ['docs/policy.txt', file('policy v2')]]);
    const merged = new Map(layer);
    dropSupersededCopies(merged, was, record, layer, DEVICE);
    assert.deepEqual([...merged.keys()], ['docs', 'docs/policy.txt']);
  });

  it('keeps a copy the user changed, one of another device, and one of another version', () => {
    const old = file('policy v1');
    const mine = `docs/${conflictName('policy.txt', OLD_MTIME, DEVICE)}`;
    const changed = `docs/${conflictName('policy.txt', OLD_MTIME, DEVICE, 2)}`;
    const laptop = `docs/${conflictName('policy.txt', OLD_MTIME, 'laptop')}`;
    const older = `docs/${conflictName('policy.txt', OLD_MTIME - 1000, DEVICE)}`;
    const layer = new Map<string, Node>([
      ['docs', { type: 'dir', mode: 0o755 }],
      ['docs/policy.txt', file('policy edited by the user')],
      [mine, old],
      [changed, file('the user edited the copy')],
      [laptop, old],
      [older, old],
    ]);
    const was = new Map<string, Node>([['docs', { type: 'dir', mode: 0o755 }], ['docs/policy.txt', old]]);
    const record = new Map<string, Node>([['docs', { type: 'dir', mode: 0o755 }], ['docs/policy.txt', file('policy v2')]]);
    const merged = new Map(layer);
    dropSupersededCopies(merged, was, record, layer, DEVICE);
    assert.deepEqual([...merged.keys()].sort(), ['docs', 'docs/policy.txt', changed, laptop, older].sort());
  });
});
