// Standalone measurement of the executor bringing in a peer's new files (sync/exec/writes.ts):
// N small files (default 3,000) in folders 3 deep, fetched from memory (no store latency), with a
// watcher's suppress hook, on the real disk; with `replace`, new versions of N files the disk has. Each run lays out a fresh root; the figure is the
// median and the best of the runs. The machine may be shared: compare figures taken side by side.
//
// Usage: node --import tsx scripts/exec-bench.ts [files] [runs] [new|replace]
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { planApply } from '../sync/plan/index.js';
import { executePlan } from '../sync/exec/index.js';
import { Blobs, materialize, scan, tree } from '../sync/exec/testkit.js';

const files = Number(process.argv[2] ?? 3000);
const runs = Number(process.argv[3] ?? 5);
const replace = process.argv[4] === 'replace';

async function once(): Promise<number> {
  const base = await mkdtemp(join(tmpdir(), 'strata-exec-bench-'));
  try {
    const root = join(base, 'root');
    await mkdir(root);
    const blobs = new Blobs();
    const dirs: Record<string, string> = {};
    for (let d = 0; d < 30; d++) dirs[`p${d % 3}/q${d % 10}/r${d}/`] = '755';
    for (const d of Object.keys(dirs)) {
      const parts = d.split('/');
      dirs[`${parts[0]}/`] = '755';
      dirs[`${parts[0]}/${parts[1]}/`] = '755';
    }
    const spec: Record<string, string> = { ...dirs };
    const local: Record<string, string> = { ...dirs };
    for (let i = 0; i < files; i++) {
      spec[`p${i % 3}/q${i % 10}/r${i % 30}/f${i}.txt`] = `file ${i} `.repeat(1 + (i % 40));
      if (replace) local[`p${i % 3}/q${i % 10}/r${i % 30}/f${i}.txt`] = `old ${i}`;
    }
    await materialize(root, tree(blobs, local), blobs);
    const ops = planApply(await scan(root), tree(blobs, spec)).ops;
    let told = 0;
    const t0 = performance.now();
    const r = await executePlan(root, ops, { fetch: blobs.fetch(), journalPath: join(base, 'journal'), suppress: () => void told++ });
    const ms = performance.now() - t0;
    if (!r.complete || told !== files) throw new Error(`incomplete run (${r.results.length} results, ${told} told)`);
    return ms;
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

const times: number[] = [];
for (let r = 0; r < runs; r++) times.push(await once());
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)] as number;
console.log(`${files} ${replace ? 'replaced' : 'new'} files: median ${(median / 1000).toFixed(2)} s (${(files / (median / 1000)).toFixed(0)} files/s), best ${((times[0] as number) / 1000).toFixed(2)} s; runs ${times.map((t) => (t / 1000).toFixed(2)).join(' ')}`);
