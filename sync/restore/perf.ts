/**
 * Local restore benchmark (not a test): a DirStore repository in /tmp holding a generated tree of
 * 10,000 small files, some documents and a few large page files (~270 MiB), restored three ways —
 * into an empty folder, only the small files (`only: 'config'`), and into an empty folder seeded
 * from a copy of 80% of the files (as `npm run bench` does). Prints wall and CPU seconds, GETs and
 * bytes fetched per run.
 *
 *   node --import tsx sync/restore/perf.ts [--dir /tmp/strata-perf] [--runs 3] [--latency 2] [--only full,small,seeded] [--no-verify]
 *
 * `--latency` adds that many ms to every GET (an S3 server on loopback answers in a few ms; a
 * DirStore answers at once, which would hide the cost of extra requests). The corpus and the
 * repository are built on the first run and kept; delete the folder to rebuild.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeCorpus, type Corpus } from '../bench/corpus.js';
import { copyFiles, presentSubset, verifyTree } from '../bench/files.js';
import { ChunkPool } from '../chunker/index.js';
import { initRepository, openRepository } from '../repo/format.js';
import { takeSnapshot } from '../snapshot/index.js';
import { DirStore } from '../store/dir.js';
import type { ByteRange, ObjectStore } from '../store/index.js';
import { restoreTree, type RestoreStats } from './index.js';

const MiB = 1024 * 1024;
const { values: args } = parseArgs({
  options: {
    dir: { type: 'string', default: '/tmp/strata-perf' },
    runs: { type: 'string', default: '3' },
    latency: { type: 'string', default: '2' },
    only: { type: 'string', default: 'full,small,seeded' },
    'no-verify': { type: 'boolean', default: false },
  },
});
const dir = args.dir;
const latencyMs = Number(args.latency);

/** A store whose GETs take `latencyMs` longer, like a server across a socket. */
function slowGets(inner: ObjectStore): ObjectStore {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop !== 'get') return Reflect.get(target, prop, receiver) as unknown;
      return async (key: string, range?: ByteRange) => {
        await new Promise((r) => setTimeout(r, latencyMs));
        return target.get(key, range);
      };
    },
  });
}

interface Built {
  corpus: Corpus;
  root: string;
}

async function build(): Promise<Built> {
  const manifest = join(dir, 'built.json');
  if (existsSync(manifest)) return JSON.parse(await readFile(manifest, 'utf8')) as Built;
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'src'), { recursive: true });
  await mkdir(join(dir, 'repo'), { recursive: true });
  console.log('building corpus and repository …');
  const plan = { seed: 7, sizeMiB: 300, smallCount: 10_000, mediumCount: 40, editFileSize: 96 * MiB, largeSizes: [64 * MiB, 64 * MiB], note: undefined };
  const corpus = await writeCorpus(join(dir, 'src'), plan);
  const store = new DirStore(join(dir, 'repo'));
  await initRepository(store, { id: 'perf', created: new Date(0) });
  const repo = await openRepository(store);
  const pool = new ChunkPool();
  const { snapshot } = await takeSnapshot(repo, { root: corpus.root, layer: 'user/perf', device: 'perf', chunker: pool });
  await pool.close();
  const built: Built = { corpus, root: snapshot.root };
  await writeFile(manifest, JSON.stringify(built));
  const { present } = presentSubset(corpus, 1);
  await copyFiles(corpus.root, join(dir, 'present'), present);
  return built;
}

interface Scenario {
  name: string;
  only?: string;
  seeds?: string[];
}

async function once(built: Built, s: Scenario, pool: ChunkPool): Promise<{ stats: RestoreStats; wall: number; cpu: number; fetched: number; problems: number }> {
  const target = join(dir, `out-${s.name}`);
  await rm(target, { recursive: true, force: true });
  const repo = await openRepository(slowGets(new DirStore(join(dir, 'repo'))));
  await repo.loadIndex();
  const fetched0 = repo.stats.bytesDownloaded;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const stats = await restoreTree(repo, {
    target,
    root: built.root,
    only: s.only,
    seeds: s.seeds,
    chunkFile: (path, params, hash) => pool.chunkFile(path, params, { hash }),
  });
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const files = s.only ? built.corpus.files.filter((f) => f.path.startsWith(`${s.only}/`)) : built.corpus.files;
  const problems = args['no-verify'] ? 0 : (await verifyTree(target, { ...built.corpus, files })).length;
  await rm(target, { recursive: true, force: true });
  return { stats, wall, cpu: (cpu.user + cpu.system) / 1e6, fetched: repo.stats.bytesDownloaded - fetched0, problems };
}

async function main(): Promise<void> {
  const built = await build();
  const scenarios: Scenario[] = [
    { name: 'full' },
    { name: 'small', only: 'config' },
    { name: 'seeded', seeds: [join(dir, 'present')] },
  ].filter((s) => args.only.split(',').includes(s.name));
  const pool = new ChunkPool();
  console.log(`latency ${latencyMs} ms per GET; ${built.corpus.files.length} files, ${(built.corpus.bytes / MiB).toFixed(1)} MiB`);
  for (const s of scenarios) {
    for (let i = 0; i < Number(args.runs); i++) {
      const r = await once(built, s, pool);
      const mb = (n: number): string => (n / MiB).toFixed(1);
      console.log(
        `${s.name.padEnd(7)} wall ${r.wall.toFixed(2)} s  cpu ${r.cpu.toFixed(2)} s  GETs ${r.stats.gets}  fetched ${mb(r.fetched)} MiB for ${mb(r.stats.bytes)} MiB` +
          ` (downloaded ${mb(r.stats.bytesDownloaded)}, seeded ${mb(r.stats.bytesSeeded)})${r.problems ? `  PROBLEMS ${r.problems}` : ''}`,
      );
    }
  }
  await pool.close();
}

await main();
