import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { makeRng, testSeed } from '../testing/random.js';
import { openFileIndex, type IndexEntry } from './file-index.js';
import { commitOps, contents, tempDir, workloadState, workloadTx } from './testkit.js';

const NO_AUTO = { autoCompact: false } as const;
const MAX_OFFSETS = 400;
const EARLIER_MIN = 150;

/** Commits workload transactions 1..count and returns the journal size after each one. */
async function build(dir: string, seed: number, count: number): Promise<{ file: string; ends: number[] }> {
  const index = await openFileIndex(dir, 'synced', NO_AUTO);
  const ends = [index.journalBytes];
  for (let n = 1; n <= count; n++) {
    await commitOps(index, workloadTx(seed, n));
    ends.push(index.journalBytes);
  }
  await index.close();
  return { file: index.journalFile, ends };
}

async function reopen(dir: string): Promise<{ state: Map<string, IndexEntry>; sequence: number; discarded: number }> {
  const index = await openFileIndex(dir, 'synced', NO_AUTO);
  const out = { state: contents(index), sequence: index.sequence, discarded: index.discardedBytes };
  await index.close();
  return out;
}

describe('file index journal: crashes', () => {
  it('a journal cut at any byte reopens to exactly the last transaction committed before the cut', async (t) => {
    const seed = testSeed('journal torn tail');
    const rng = makeRng(seed);
    const dir = await tempDir(t, 'torn');
    const { file, ends } = await build(dir, seed, 6);
    const full = await readFile(file);
    const header = ends[0] as number;
    const all = Array.from({ length: full.length - header }, (_, i) => header + i);
    // Every byte of the last transaction, plus a seeded sample of the earlier ones.
    const last = all.filter((cut) => cut >= (ends[5] as number));
    const earlier = rng.shuffle(all.filter((cut) => cut < (ends[5] as number))).slice(0, Math.max(EARLIER_MIN, MAX_OFFSETS - last.length));
    for (const cut of [...last, ...earlier]) {
      await writeFile(file, full.subarray(0, cut));
      const committed = ends.filter((end) => end <= cut).length - 1;
      const got = await reopen(dir);
      assert.deepEqual(got.state, workloadState(seed, committed), `cut at ${cut}`);
      assert.equal(got.sequence, committed);
      assert.equal(got.discarded, cut - (ends[committed] as number));
      assert.equal((await readFile(file)).length, ends[committed], 'the torn tail is cut off');
    }
    console.log(`journal torn tail: ${last.length} cut points in the last transaction, ${earlier.length} earlier`);
    await writeFile(file, full);
    assert.deepEqual((await reopen(dir)).state, workloadState(seed, 6));
  });

  it('after a torn tail is cut off, new commits append cleanly', async (t) => {
    const seed = testSeed('journal append after tear');
    const dir = await tempDir(t, 'torn2');
    const { file, ends } = await build(dir, seed, 3);
    const full = await readFile(file);
    await writeFile(file, full.subarray(0, (ends[2] as number) + 7));
    const index = await openFileIndex(dir, 'synced', NO_AUTO);
    await commitOps(index, workloadTx(seed, 3));
    await commitOps(index, workloadTx(seed, 4));
    await index.close();
    const got = await reopen(dir);
    assert.deepEqual(got.state, workloadState(seed, 4));
    assert.equal(got.discarded, 0);
  });

  it('a flipped byte in a transaction discards it and everything after, keeps everything before', async (t) => {
    const seed = testSeed('journal flipped byte');
    const rng = makeRng(seed);
    const dir = await tempDir(t, 'flip');
    const { file, ends } = await build(dir, seed, 5);
    const full = await readFile(file);
    for (let round = 0; round < 60; round++) {
      const tx = rng.range(1, 5);
      const at = rng.range(ends[tx - 1] as number, (ends[tx] as number) - 1);
      const damaged = Buffer.from(full);
      damaged[at] = (damaged[at] as number) ^ (1 << rng.int(8));
      await writeFile(file, damaged);
      const got = await reopen(dir);
      assert.deepEqual(got.state, workloadState(seed, tx - 1), `byte ${at} in transaction ${tx}`);
      assert.equal(got.sequence, tx - 1);
    }
  });
});
