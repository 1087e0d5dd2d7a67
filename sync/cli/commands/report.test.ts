// The lines snapshot, restore and a sign-in's lay print about what they moved: one file is "1 file".
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { noRequests } from '../../store/counting.js';
import { layersLine } from './lay-output.js';
import { transferLines, transferReport } from './report.js';

describe('transfer and layers lines', () => {
  it('say 1 file, and 2 files', () => {
    assert.match(transferLines(transferReport(1, 3, 0, noRequests(), 1))[0] as string, /^ {2}1 file, 3 B in 1\.00s/);
    assert.match(transferLines(transferReport(2, 3, 0, noRequests(), 1))[0] as string, /^ {2}2 files, /);
    const user = { layer: 'user/alice', snapshot: 'a'.repeat(64), root: 'b'.repeat(64) };
    assert.equal(layersLine({ type: 'layers', org: [], user, unpublished: [], files: 1, bytes: 3 }), 'layers: user/alice; 1 file, 3 B');
    assert.equal(layersLine({ type: 'layers', org: [], unpublished: [], files: 0, bytes: 0 }), 'layers: (none yet); 0 files, 0 B');
  });
});
