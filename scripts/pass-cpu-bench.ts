// Standalone measurement of the CPU one live sync pass takes after a one-file edit (SyncFolder.pass,
// sync/agent/folder.ts): a folder of N small files (default 100,000, 20 a folder) on the real disk,
// synced with an in-memory bucket (no store latency), settled by two passes; then, each run, one
// file is edited, marked dirty as the watcher would, and one pass runs under the V8 profiler. The
// figures: the pass's CPU (process.cpuUsage, user + system) and wall time, median and best of the
// runs, and where the samples of one more pass, profiled, fell, by function (inclusive: a sample
// counts for every function on its stack). The machine may be shared: compare figures taken side
// by side. The folder is kept in /tmp between invocations (built once per N).
//
// Usage: node --import tsx scripts/pass-cpu-bench.ts [files] [runs] [top]
import { Session } from 'node:inspector/promises';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { initRepository, openRepository } from '../sync/repo/index.js';
import { MemoryStore } from '../sync/store/memory.js';
import { openFileIndex } from '../sync/state/index.js';
import { makeExcluder } from '../sync/watch/index.js';
import { SyncFolder } from '../sync/agent/folder.js';

const files = Number(process.argv[2] ?? 100_000);
const runs = Number(process.argv[3] ?? 5);
const top = Number(process.argv[4] ?? 40);
const PER_DIR = 20;

const pathOf = (i: number): string => {
  const d = Math.floor(i / PER_DIR);
  return `g${Math.floor(d / 100)}/d${d % 100}/f${i}.txt`;
};

/** The folder of `files` files, written once and kept for later invocations. */
async function folderOf(): Promise<string> {
  const root = join(tmpdir(), `strata-pass-cpu-${files}`);
  if (existsSync(join(root, '.complete'))) return join(root, 'data');
  await rm(root, { recursive: true, force: true });
  const data = join(root, 'data');
  for (let i = 0; i < files; i += PER_DIR) await mkdir(join(data, pathOf(i), '..'), { recursive: true });
  for (let i = 0; i < files; i++) await writeFile(join(data, pathOf(i)), `file ${i}\n`.repeat(1 + (i % 50)));
  await writeFile(join(root, '.complete'), '');
  return data;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** ms per function (name file:line), inclusive, and self. */
function attribute(p: Profile): { inclusive: Map<string, number>; self: Map<string, number> } {
  const parent = new Map<number, number>();
  const byId = new Map<number, ProfileNode>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const label = (n: ProfileNode): string => {
    const file = n.callFrame.url.replace(/^.*\/(sync|node_modules)\//, '$1/');
    return `${n.callFrame.functionName || '(anon)'} ${file}:${n.callFrame.lineNumber + 1}`;
  };
  const inclusive = new Map<string, number>();
  const self = new Map<string, number>();
  p.samples.forEach((id, i) => {
    const ms = (p.timeDeltas[i] ?? 0) / 1000;
    const leaf = byId.get(id) as ProfileNode;
    self.set(label(leaf), (self.get(label(leaf)) ?? 0) + ms);
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) seen.add(label(byId.get(n) as ProfileNode));
    for (const l of seen) inclusive.set(l, (inclusive.get(l) ?? 0) + ms);
  });
  return { inclusive, self };
}

const data = await folderOf();
const state = await mkdtemp(join(tmpdir(), 'strata-pass-cpu-state-'));
try {
  const store = new MemoryStore();
  await initRepository(store, { id: 'bench', created: new Date('2024-05-01T10:00:00Z') });
  const index = await openFileIndex(state, 'statcache');
  const folder = new SyncFolder({ repo: await openRepository(store), root: data, layer: 'user/bench', device: 'bench', index, execJournal: join(state, 'exec.journal'), pendingFile: join(state, 'pending.json'), settledFile: join(state, 'settled.json'), exclude: makeExcluder() });
  await folder.recover();
  let t = performance.now();
  await folder.pass();
  console.log(`first pass (uploads ${files} files): ${((performance.now() - t) / 1000).toFixed(1)} s`);
  t = performance.now();
  folder.markAllDirty();
  await folder.pass();
  console.log(`full rescan pass, nothing changed: ${((performance.now() - t) / 1000).toFixed(2)} s`);
  const edit = async (r: number): Promise<void> => {
    const rel = pathOf((r * 7919) % files);
    await writeFile(join(data, rel), `edited in run ${r} at ${Date.now()}\n`);
    folder.markDirty([rel]);
  };
  const synced = (r: number, res: Awaited<ReturnType<SyncFolder['pass']>>): void => {
    if (res.status !== 'synced' || res.snapshot === undefined) throw new Error(`run ${r}: the pass did not sync the edit (${res.status})`);
  };
  // The CPU figures come from passes without the profiler, whose sampling costs CPU too.
  const results: Array<{ cpu: number; wall: number }> = [];
  for (let r = 0; r < runs; r++) {
    await edit(r);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const res = await folder.pass();
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    synced(r, res);
    results.push({ cpu: (cpu.user + cpu.system) / 1000, wall });
  }
  results.sort((a, b) => a.cpu - b.cpu);
  const median = results[Math.floor(results.length / 2)] as (typeof results)[number];
  const fmt = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
  console.log(`one-file edit pass at ${files} files: CPU median ${fmt(median.cpu)}, best ${fmt((results[0] as (typeof results)[number]).cpu)} (wall median ${fmt(median.wall)}); runs ${results.map((x) => fmt(x.cpu)).join(' ')}`);
  // Then one more pass, profiled, for where the time goes.
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await edit(runs);
  await session.post('Profiler.start');
  synced(runs, await folder.pass());
  const { profile } = await session.post('Profiler.stop');
  session.disconnect();
  const { inclusive, self } = attribute(profile as unknown as Profile);
  const show = (title: string, m: Map<string, number>): void => {
    console.log(title);
    for (const [l, ms] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${ms.toFixed(0).padStart(6)} ms  ${l}`);
  };
  show('inclusive (a profiled pass):', inclusive);
  show('self (a profiled pass):', self);
  await index.close();
} finally {
  await rm(state, { recursive: true, force: true });
}
