/** Helpers shared by the state tests and the kill-test child process. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { makeRng } from '../testing/random.js';
import type { IndexEntry } from './file-index.js';
import type { Journal } from './journal.js';

export async function tempDir(t: TestContext, name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `strata-state-${name}-`));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export function fileEntry(n: number, extra: Partial<IndexEntry> = {}): IndexEntry {
  return { type: 'file', size: n, mtimeMs: 1_700_000_000_000 + n, mode: 0o644, chunks: [`c${n}`], ...extra };
}

export type TxOp = { key: string; entry: IndexEntry | undefined };

/** Transaction number `n` (1-based) of a deterministic workload: a function of (seed, n) only. */
export function workloadTx(seed: number, n: number): TxOp[] {
  const rng = makeRng((seed ^ Math.imul(n, 0x9e3779b1)) >>> 0);
  return Array.from({ length: rng.range(1, 8) }, (_, i) => ({
    key: `dir${rng.int(4)}/f${rng.int(60)}.txt`,
    entry: rng.chance(0.2) ? undefined : fileEntry(n * 100 + i, { chunks: [`k${n}`, `k${i}`] }),
  }));
}

/** The state after transactions 1..count of the workload. */
export function workloadState(seed: number, count: number): Map<string, IndexEntry> {
  const state = new Map<string, IndexEntry>();
  for (let n = 1; n <= count; n++) {
    for (const { key, entry } of workloadTx(seed, n)) {
      if (entry) state.set(key, entry);
      else state.delete(key);
    }
  }
  return state;
}

export async function commitOps(journal: Journal<IndexEntry>, ops: readonly TxOp[]): Promise<void> {
  const tx = journal.transaction();
  for (const { key, entry } of ops) {
    if (entry) tx.set(key, entry);
    else tx.delete(key);
  }
  await tx.commit();
}

/** The journal's content as a plain Map, for deepEqual against an expected state. */
export function contents<T>(journal: Journal<T>): Map<string, T> {
  return new Map([...journal.entries()].map(([k, v]) => [k, structuredClone(v)]));
}
