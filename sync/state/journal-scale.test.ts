import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { openFileIndex, type IndexEntry } from './file-index.js';
import { tempDir } from './testkit.js';

const COUNT = 100_000;
const MiB = 1024 * 1024;

function entry(i: number): IndexEntry {
  const hex = (n: number): string => n.toString(16).padStart(8, '0').repeat(8);
  return { type: 'file', size: i * 37, mtimeMs: 1_700_000_000_000 + i, mode: 0o644, ino: 1_000_000 + i, chunks: [hex(i), hex(i + 1), hex(i + 2)] };
}

const path = (i: number): string => `dir${i % 1000}/sub${i % 7}/file-${i}.txt`;

async function timed<R>(label: string, fn: () => Promise<R>): Promise<R> {
  const start = performance.now();
  const result = await fn();
  console.log(`index scale: ${label}: ${(performance.now() - start).toFixed(0)} ms`);
  return result;
}

const mb = (n: number): string => `${(n / MiB).toFixed(1)} MiB`;

describe('file index journal: scale', () => {
  it(`holds ${COUNT.toLocaleString('en')} entries through commit, replay, small commits, compaction and reopen`, async (t) => {
    const dir = await tempDir(t, 'scale');
    const index = await openFileIndex(dir, 'synced');
    const tx = index.transaction();
    for (let i = 0; i < COUNT; i++) tx.set(path(i), entry(i));
    await timed(`commit of ${COUNT} entries in one transaction`, () => tx.commit());
    await index.close();
    // The journal is about the live size, so the 2× rule has not compacted it yet.
    console.log(`index scale: journal ${mb((await stat(index.journalFile)).size)}`);

    const replayed = await timed('reopen by journal replay', () => openFileIndex(dir, 'synced'));
    assert.equal(replayed.size, COUNT);
    assert.deepEqual(replayed.get(path(77_777)), entry(77_777));
    await timed('100 small commits of 10 changes each', async () => {
      for (let c = 0; c < 100; c++) {
        const small = replayed.transaction();
        for (let j = 0; j < 10; j++) small.set(path(c * 10 + j), entry(COUNT + c * 10 + j));
        await small.commit();
      }
    });
    await timed('compaction', () => replayed.compact());
    await replayed.close();
    console.log(`index scale: snapshot ${mb((await stat(index.snapshotFile)).size)}, journal ${(await stat(index.journalFile)).size} B`);

    const last = await timed('reopen from snapshot', () => openFileIndex(dir, 'synced'));
    console.log(`index scale: process rss ${mb(process.memoryUsage().rss)} (includes the earlier handles' garbage)`);
    assert.equal(last.size, COUNT);
    assert.deepEqual(last.get(path(999)), entry(COUNT + 999));
    assert.deepEqual(last.get(path(COUNT - 1)), entry(COUNT - 1));
    assert.equal(last.sequence, 101);
    await last.close();
  });
});
