// Standalone measurement of one phase of the sign-in bench's golden-image case (sync/bench/signin.ts):
// "first contact, trees, plan, seed scan", from the lay's `layers` event to the ready restore's
// first progress (signin-results.ts readyPrep). The layer is the bench's (signin-corpus.ts), kept in
// a folder store (the phase reads nothing from the bucket); home holds the bench's 80% copy, mtimes
// kept. Each run lays a fresh copy in a child process after `sync` and a drop of the page cache
// (root; --warm keeps it), and reports what does not depend on the machine's load: the phase's CPU
// time (user+sys, every thread), GC time by kind, the heap at its start and end, blocks read from
// the disk; with --strace its system calls by name (the child under strace -f; the phase told apart
// by two marker calls); with --prof the functions taking most of its samples (--cpu-prof); and, for
// the whole lay up to its `ready` (the phase's work may move before it: home's walk runs while the
// layers load), CPU time and time to ready. Wall time is
// printed too, with the load average, as a side note. The machine may be shared: compare runs
// taken side by side, and CPU or counts rather than wall time.
//
// Usage: node --import tsx scripts/signin-prep-bench.ts [--files 20000] [--size 256] [--runs 3] [--strace] [--prof] [--warm] [--work <dir>]
// (the layer is kept in --work, default /tmp/strata-signin-prep-<files>-<size>-<seed>, for later runs; remove it after)
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseOrgConfig } from '../shared/org-config.js';
import { copyFiles, presentSubset } from '../sync/bench/files.js';
import { planSignInCorpus, SIGNIN_HOT_PATHS, writeSignInCorpus } from '../sync/bench/signin-corpus.js';
import type { Corpus } from '../sync/bench/corpus.js';
import { ChunkPool } from '../sync/chunker/index.js';
import { chunkSmall } from '../sync/chunker/small.js';
import { preloadUserLayer, writeProfile } from '../sync/profile/index.js';
import { initRepository, openRepository } from '../sync/repo/index.js';
import { layHome, writeSession, type Session } from '../sync/signin/index.js';
import { DirStore } from '../sync/store/dir.js';

const { values: args } = parseArgs({
  options: {
    files: { type: 'string', default: '20000' },
    size: { type: 'string', default: '256' },
    runs: { type: 'string', default: '3' },
    seed: { type: 'string', default: '1' },
    work: { type: 'string' },
    strace: { type: 'boolean', default: false },
    warm: { type: 'boolean', default: false },
    prof: { type: 'boolean', default: false },
    child: { type: 'string' },
  },
});
const files = Number(args.files);
const sizeMiB = Number(args.size);
const seed = Number(args.seed);
const work = args.work ?? `/tmp/strata-signin-prep-${files}-${sizeMiB}-${seed}`;
const USER = 'bench';
const MARK = '/nonexistent-strata-phase-';
const GC_KINDS: Record<number, string> = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weakcb' };

interface PhaseFigures {
  wallMs: number;
  cpuMs: number;
  gcMs: number;
  gcs: number;
  /** GC ms by kind (minor: scavenges of the young generation; major: mark-compact). */
  gcKinds: Record<string, number>;
  /** The heap in use (MiB) at the phase's start and end. */
  heapMiB: [number, number];
  /** Blocks read from the disk (getrusage ru_inblock, 512 bytes each). */
  inBlocks: number;
  readyFiles: number;
  /** process.hrtime of the phase's start and end, µs (the clock of a --cpu-prof profile's samples). */
  fromUs: number;
  toUs: number;
  /** From the lay's start to its `ready`: CPU ms (every thread) and the lay's own time to ready. */
  toReady: { cpuMs: number; wallMs: number };
}

/** What a child lays: the store and the corpus under `work`, written once and kept for later runs. */
async function prepareLayer(): Promise<Corpus> {
  const manifest = join(work, 'corpus.json');
  if (existsSync(manifest)) return JSON.parse(readFileSync(manifest, 'utf8')) as Corpus;
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  console.error(`writing the layer (${files} files, ${sizeMiB} MiB) in ${work} …`);
  const corpus = await writeSignInCorpus(join(work, 'corpus'), planSignInCorpus(sizeMiB, files, seed));
  await mkdir(join(work, 'store'));
  const store = new DirStore(join(work, 'store'));
  await initRepository(store);
  await writeProfile(store, { version: 1, user: USER, displayName: '', layers: [], updated: new Date().toISOString() });
  await preloadUserLayer(await openRepository(store), USER, { from: corpus.root });
  writeFileSync(manifest, JSON.stringify(corpus));
  return corpus;
}

/** The child: one lay of `home`, the phase's figures as one JSON line on stdout. */
async function child(home: string): Promise<void> {
  const store = new DirStore(join(work, 'store'));
  const stateDir = join(home, '..', 'state');
  const org = parseOrgConfig({ version: 1, org: 'bench', mode: 'vdi', store: { bucket: 'bench' }, policies: { hotPaths: SIGNIN_HOT_PATHS } }, 'bench');
  const session: Session = { version: 1, source: 'bench', org, user: USER, home, mode: org.mode, device: 'bench-pc', signedIn: new Date().toISOString() };
  await writeSession(stateDir, session);
  let gcMs = 0;
  let gcs = 0;
  const gcKinds: Record<string, number> = {};
  let inPhase = false;
  new PerformanceObserver((list) => {
    if (!inPhase) return;
    for (const e of list.getEntries()) {
      gcMs += e.duration;
      gcs++;
      const kind = GC_KINDS[(e as unknown as { detail: { kind: number } }).detail.kind] ?? 'other';
      gcKinds[kind] = (gcKinds[kind] ?? 0) + e.duration;
    }
  }).observe({ entryTypes: ['gc'] });
  const sample = () => ({ heap: process.memoryUsage().heapUsed / 1048576, at: performance.now(), us: Number(process.hrtime.bigint() / 1000n), cpu: process.cpuUsage(), inBlocks: process.resourceUsage().fsRead });
  let start: ReturnType<typeof sample> | undefined;
  let figures: Omit<PhaseFigures, 'toReady'> | undefined;
  let toReady: PhaseFigures['toReady'] | undefined;
  const pool = new ChunkPool();
  const layStart = process.cpuUsage();
  try {
    await layHome({
      store,
      session,
      stateDir,
      chunkFile: (path, params, hash) => pool.chunkFile(path, params, { hash }),
      chunkFiles: (list, params, hash) => chunkSmall(list, (bytes) => pool.chunkBuffers(bytes, params, { hash })),
      onEvent: (e) => {
        if (e.type === 'ready') {
          const cpu = process.cpuUsage(layStart);
          toReady = { cpuMs: (cpu.user + cpu.system) / 1000, wallMs: e.timeToReadyMs };
        } else if (e.type === 'layers') {
          mark('start');
          inPhase = true;
          start = sample();
        } else if (e.type === 'progress' && e.phase === 'ready' && start && !figures) {
          const end = sample();
          inPhase = false;
          mark('end');
          const cpu = process.cpuUsage(start.cpu);
          figures = { wallMs: end.at - start.at, cpuMs: (cpu.user + cpu.system) / 1000, gcMs, gcs, gcKinds, heapMiB: [start.heap, end.heap], inBlocks: end.inBlocks - start.inBlocks, readyFiles: e.files, fromUs: start.us, toUs: end.us };
        }
      },
    });
  } finally {
    await pool.close();
  }
  if (!figures || !toReady) throw new Error('the lay reported no progress of its ready restore, or no ready');
  process.stdout.write(`${JSON.stringify({ ...figures, toReady })}\n`);
}

/** A call strace shows, that tells where the phase starts and ends. */
function mark(name: string): void {
  try {
    accessSync(MARK + name);
  } catch {
    // Expected: the path never exists.
  }
}

/** System calls by name between the two marks of an strace -f log. */
function phaseCalls(log: string): Record<string, number> {
  const lines = readFileSync(log, 'utf8').split('\n');
  const from = lines.findIndex((l) => l.includes(`${MARK}start`));
  const to = lines.findIndex((l) => l.includes(`${MARK}end`));
  const counts: Record<string, number> = {};
  for (const line of lines.slice(from + 1, to)) {
    // "123 name(args…" (strace -f -o) or "[pid 123] name(…"; an unfinished call's resumed half is not counted again.
    const m = /^(?:\[pid\s+\d+\]\s+|\d+\s+)?([a-z0-9_]+)\(/.exec(line);
    if (m) counts[m[1] as string] = (counts[m[1] as string] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1]));
}

/** The functions taking the most of the phase's samples in the main thread's --cpu-prof profile (self time). */
function printProfile(dir: string, phase: PhaseFigures): void {
  interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }
  interface Profile { nodes: Node[]; startTime: number; samples: number[]; timeDeltas: number[] }
  // One profile per thread: the main thread's is the largest (the chunker's workers do nothing here).
  const [main] = readdirSync(dir).map((f) => join(dir, f)).sort((a, b) => statSync(b).size - statSync(a).size);
  if (main === undefined) throw new Error(`no profile in ${dir}`);
  const prof = JSON.parse(readFileSync(main, 'utf8')) as Profile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let t = prof.startTime;
  let total = 0;
  prof.samples.forEach((id, i) => {
    t += prof.timeDeltas[i] as number;
    if (t < phase.fromUs || t > phase.toUs) return;
    const f = (byId.get(id) as Node).callFrame;
    const key = `${f.functionName || '(anon)'} ${f.url.replace(/^.*\/(sync|node_modules)\//, '$1/')}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + 1);
    total++;
  });
  console.log(`  profile: ${total} samples in the phase`);
  for (const [key, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`    ${((100 * n) / total).toFixed(1).padStart(5)}%  ${key}`);
}

async function main(): Promise<void> {
  if (args.child) return child(args.child);
  const corpus = await prepareLayer();
  const runs = Number(args.runs);
  const results: (PhaseFigures & { calls?: Record<string, number> })[] = [];
  for (let r = 0; r < runs; r++) {
    const machine = join(work, 'machine');
    await rm(machine, { recursive: true, force: true });
    const home = join(machine, 'home');
    await mkdir(home, { recursive: true });
    await copyFiles(corpus.root, home, presentSubset(corpus, seed).present);
    execFileSync('sync');
    if (!args.warm) writeFileSync('/proc/sys/vm/drop_caches', '3\n');
    const script = fileURLToPath(import.meta.url);
    const profDir = join(work, 'prof');
    await rm(profDir, { recursive: true, force: true });
    const node = [process.execPath, ...(args.prof ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []), '--import', 'tsx', script, '--files', String(files), '--size', String(sizeMiB), '--seed', String(seed), '--work', work, '--child', home];
    const log = join(work, 'strace.log');
    const cmd = args.strace ? ['strace', '-f', '-qq', '-o', log, ...node] : node;
    const load = loadavg()[0] as number;
    const out = spawnSync(cmd[0] as string, cmd.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (out.status !== 0) throw new Error(`the lay failed (exit ${out.status})`);
    const figures = JSON.parse(out.stdout.trim().split('\n').pop() as string) as PhaseFigures;
    const calls = args.strace ? phaseCalls(log) : undefined;
    if (args.prof) printProfile(profDir, figures);
    results.push({ ...figures, ...(calls ? { calls } : {}) });
    console.log(`run ${r + 1}: cpu ${figures.cpuMs.toFixed(0)} ms, gc ${figures.gcMs.toFixed(0)} ms (${figures.gcs}: ${Object.entries(figures.gcKinds).map(([k, ms]) => `${k} ${ms.toFixed(0)}`).join(', ')}), heap ${figures.heapMiB.map((m) => m.toFixed(0)).join(' → ')} MiB, read ${((figures.inBlocks * 512) / 1048576).toFixed(1)} MiB, wall ${figures.wallMs.toFixed(0)} ms (load ${load.toFixed(2)}); to ready: cpu ${figures.toReady.cpuMs.toFixed(0)} ms, ${figures.toReady.wallMs.toFixed(0)} ms${calls ? `\n  calls ${JSON.stringify(calls)}` : ''}`);
  }
  const median = (xs: number[]): string => (xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number).toFixed(0);
  console.log(`${files} files, ${sizeMiB} MiB, ${args.warm ? 'warm' : 'cold'}: phase CPU median ${median(results.map((r) => r.cpuMs))} ms, to ready CPU median ${median(results.map((r) => r.toReady.cpuMs))} ms over ${runs} runs`);
}

await main();
