import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { unreadTest } from './carry.js';
import type { ScanResult } from './local.js';

const scanWith = (skipped: string[]): ScanResult => ({ changed: [], skipped: new Map(skipped.map((p) => [p, 'cannot be read (EACCES)'])) });

describe('what a pass cannot read', () => {
  it('is the skipped paths and everything under them', () => {
    const unread = unreadTest(scanWith(['a/b', 'c']));
    assert.deepEqual(['a/b', 'a/b/c', 'a/b/c/d', 'c', 'c/x'].map(unread), [true, true, true, true, true]);
    assert.deepEqual(['a', 'a/bc', 'a/c', 'cc', 'b/a/b'].map(unread), [false, false, false, false, false]);
  });

  it('is told in time for a big folder with thousands of unreadable entries', () => {
    // Old archives with Latin-1 names, a folder of root-owned files: every one is skipped, and a
    // pass asks about every path of the layer several times.
    const unread = unreadTest(scanWith(Array.from({ length: 5000 }, (_, i) => `archive/f${i}.bin`)));
    const started = Date.now();
    let n = 0;
    for (let i = 0; i < 50_000; i++) if (unread(`docs/sub${i % 100}/file${i}.txt`) || unread(`archive/f${i}.bin`)) n++;
    assert.equal(n, 5000);
    assert.ok(Date.now() - started < 2000, `50,000 paths took ${Date.now() - started} ms`);
  });
});
