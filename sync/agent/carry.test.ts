import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { unreadTest } from './carry.js';
import type { ScanResult } from './local.js';

/** The skipped paths, counting look-ups; going through them all fails (what made a pass take minutes). */
class LookupsOnly extends Map<string, string> {
  lookups = 0;
  override has(key: string): boolean {
    this.lookups++;
    return super.has(key);
  }
  override get(key: string): string | undefined {
    this.lookups++;
    return super.get(key);
  }
  override keys(): MapIterator<string> {
    throw new Error('every skipped path was gone through');
  }
  override entries(): MapIterator<[string, string]> {
    throw new Error('every skipped path was gone through');
  }
  override values(): MapIterator<string> {
    throw new Error('every skipped path was gone through');
  }
  override forEach(): void {
    throw new Error('every skipped path was gone through');
  }
  override [Symbol.iterator](): MapIterator<[string, string]> {
    throw new Error('every skipped path was gone through');
  }
}

const scanWith = (skipped: string[]): ScanResult => ({ changed: [], skipped: new Map(skipped.map((p) => [p, 'cannot be read (EACCES)'])) });

describe('what a pass cannot read', () => {
  it('is the skipped paths and everything under them', () => {
    const unread = unreadTest(scanWith(['a/b', 'c']));
    assert.deepEqual(['a/b', 'a/b/c', 'a/b/c/d', 'c', 'c/x'].map(unread), [true, true, true, true, true]);
    assert.deepEqual(['a', 'a/bc', 'a/c', 'cc', 'b/a/b'].map(unread), [false, false, false, false, false]);
  });

  it('is told by looking up each path and its ancestors, never by going through every skipped path', () => {
    // Old archives with Latin-1 names, a folder of root-owned files: every one is skipped, and a
    // pass asks about every path of the layer several times, so a test must cost as many look-ups
    // as the path is deep, not one per skipped path (50,000 paths against 5,000 took 18-40 s).
    const skipped = new LookupsOnly(Array.from({ length: 5000 }, (_, i) => [`archive/f${i}.bin`, 'cannot be read (EACCES)'] as const));
    const unread = unreadTest({ changed: [], skipped });
    let [n, depths] = [0, 0];
    const ask = (path: string) => ((depths += path.split('/').length), unread(path));
    for (let i = 0; i < 50_000; i++) if (ask(`docs/sub${i % 100}/file${i}.txt`) || ask(`archive/f${i}.bin`)) n++;
    assert.equal(n, 5000);
    assert.ok(skipped.lookups <= depths, `${skipped.lookups} look-ups for 100,000 paths of ${depths} names in all`);
  });
});
