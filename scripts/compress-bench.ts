// What per-chunk compression would buy a sign-in, measured without changing the repository format
// (compression stays 'none', sync/repo/format.ts). The layer is the sign-in bench's
// (signin-corpus.ts: 1 GiB, 20,000 files by default), cut into chunks by the project's chunker with
// the default parameters; duplicate chunks count once, the ready set's first (it is laid first). The
// ready set is what the lay restores before "ready" (splitReady with the bench's hot paths and
// SMALL_FILE_BYTES). Each chunk is compressed on its own by every codec; "auto" keeps the compressed
// form only when it saves at least 1/8 of the chunk, as a pack would store it (raw otherwise). The
// layer's trees (one canonical JSON object per folder, as the snapshot writes them) are measured too.
//
// CPU is this thread's CPU time (process.threadCpuUsage where Node has it, else the process's), so
// a shared machine's load shows less than in wall time; each figure is the median of --runs passes.
// Decompression is timed over the chunks auto keeps compressed (the others are stored raw).
// zstd needs Node ≥ 22.15 or 23.8 (zlib.zstdCompressSync, experimental); under Node 20 it is left out:
//
//   nice -n 10 npx -y node@24 --import tsx scripts/compress-bench.ts [--files 20000] [--size 1024] [--seed 1] [--runs 3] [--work <dir>]
//
// The layer is kept in --work (default /tmp/strata-compress-<files>-<size>-<seed>) for later runs;
// remove it after. Figures go to stdout and to <work>/results-<node version>.json.
import { createReadStream, existsSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as zlib from 'node:zlib';
import { planSignInCorpus, SIGNIN_HOT_PATHS, writeSignInCorpus, type Role } from '../sync/bench/signin-corpus.js';
import { blobId, chunkStream, DEFAULT_CHUNKER, DEFAULT_HASH } from '../sync/chunker/index.js';
import type { FileNode } from '../sync/plan/index.js';
import { encodeTree, type Tree, type TreeEntry } from '../sync/repo/index.js';
import { splitReady } from '../sync/signin/effective.js';
import { SMALL_FILE_BYTES } from '../sync/signin/index.js';
import { modeOf, mtimeOf } from '../sync/snapshot/context.js';
import { makeExcluder } from '../sync/watch/index.js';

const { values: args } = parseArgs({
  options: {
    files: { type: 'string', default: '20000' },
    size: { type: 'string', default: '1024' },
    seed: { type: 'string', default: '1' },
    runs: { type: 'string', default: '3' },
    work: { type: 'string' },
  },
});
const fileCount = Number(args.files);
const sizeMiB = Number(args.size);
const seed = Number(args.seed);
const runs = Number(args.runs);
const work = args.work ?? `/tmp/strata-compress-${fileCount}-${sizeMiB}-${seed}`;
const MiB = 1024 * 1024;
/** Chunks are compressed and timed in batches of about this many bytes (a timer read per tiny chunk would weigh on the figures). */
const BATCH_BYTES = 8 * MiB;

interface Codec {
  name: string;
  compress: (raw: Buffer) => Buffer;
  decompress: (packed: Buffer) => Buffer;
}

/** Node ≥ 23.8's zstd, typed here: the project's @types/node may predate it. */
interface ZstdZlib {
  zstdCompressSync?: (b: Buffer, o: { params: Record<number, number> }) => Buffer;
  zstdDecompressSync?: (b: Buffer) => Buffer;
  constants: { ZSTD_c_compressionLevel?: number };
}

function codecs(): Codec[] {
  const deflate = (level: number): Codec => ({ name: `deflate-raw ${level}`, compress: (b) => zlib.deflateRawSync(b, { level }), decompress: (b) => zlib.inflateRawSync(b) });
  const brotli = (quality: number): Codec => ({
    name: `brotli ${quality}`,
    compress: (b) => zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: quality, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: b.length } }),
    decompress: (b) => zlib.brotliDecompressSync(b),
  });
  const list = [deflate(1), deflate(6), brotli(1), brotli(4)];
  const z = zlib as unknown as ZstdZlib;
  const { zstdCompressSync: zc, zstdDecompressSync: zd } = z;
  const levelParam = z.constants.ZSTD_c_compressionLevel;
  if (zc && zd && levelParam !== undefined) {
    for (const level of [1, 3]) list.push({ name: `zstd ${level}`, compress: (b) => zc(b, { params: { [levelParam]: level } }), decompress: (b) => zd(b) });
  } else {
    console.error(`zstd left out: Node ${process.version} has no zlib.zstdCompressSync (run under Node 24)`);
  }
  return list;
}

/** This thread's CPU time in µs (the process's where Node cannot tell threads apart). */
function cpuMicros(): number {
  const p = process as unknown as { threadCpuUsage?: () => NodeJS.CpuUsage };
  const u = p.threadCpuUsage ? p.threadCpuUsage() : process.cpuUsage();
  return u.user + u.system;
}

/** True when a compressed form of `packed` bytes is kept for a chunk of `raw` bytes. */
const keepCompressed = (raw: number, packed: number): boolean => packed <= raw - raw / 8;

interface Tally {
  chunks: number;
  raw: number;
  /** Every chunk stored compressed. */
  always: number;
  /** Compressed only where that saves ≥ 1/8 (keepCompressed). */
  auto: number;
  /** Chunks, and their raw bytes, that auto keeps compressed. */
  keptChunks: number;
  keptRaw: number;
  compressUs: number;
  decompressUs: number;
}

const newTally = (): Tally => ({ chunks: 0, raw: 0, always: 0, auto: 0, keptChunks: 0, keptRaw: 0, compressUs: 0, decompressUs: 0 });

/** Tallies of one pass: by set ('ready', 'rest', 'trees', a role's name) and codec. */
class Tallies {
  readonly sets = new Map<string, Map<string, Tally>>();

  get(set: string, codec: string): Tally {
    let bySet = this.sets.get(set);
    if (!bySet) this.sets.set(set, (bySet = new Map()));
    let t = bySet.get(codec);
    if (!t) bySet.set(codec, (t = newTally()));
    return t;
  }
}

interface Blob {
  data: Buffer;
  /** The sets it counts in (its ready/rest half and its file's role; 'trees' for a tree). */
  sets: string[];
}

/** Compresses `blobs` with `codec`, then decompresses (and checks) what auto keeps, adding to `tallies`; timing covers the whole batch. */
function measureBatch(blobs: readonly Blob[], codec: Codec, tallies: Tallies, timedSet: string): void {
  const t0 = cpuMicros();
  const packed = blobs.map((b) => codec.compress(b.data));
  const t1 = cpuMicros();
  const kept = blobs.map((b, i) => keepCompressed(b.data.length, (packed[i] as Buffer).length));
  const t2 = cpuMicros();
  const out = packed.map((p, i) => (kept[i] ? codec.decompress(p) : undefined));
  const t3 = cpuMicros();
  blobs.forEach((b, i) => {
    const size = (packed[i] as Buffer).length;
    const back = out[i];
    if (back && !back.equals(b.data)) throw new Error(`${codec.name} did not give a chunk's bytes back`);
    for (const set of b.sets) {
      const t = tallies.get(set, codec.name);
      t.chunks++;
      t.raw += b.data.length;
      t.always += size;
      t.auto += kept[i] ? size : b.data.length;
      if (kept[i]) {
        t.keptChunks++;
        t.keptRaw += b.data.length;
      }
    }
  });
  const timed = tallies.get(timedSet, codec.name);
  timed.compressUs += t1 - t0;
  timed.decompressUs += t3 - t2;
}

/** Collects blobs of one timed set and measures them once BATCH_BYTES have come. */
class Batcher {
  private blobs: Blob[] = [];
  private bytes = 0;

  constructor(
    private readonly codecList: readonly Codec[],
    private readonly tallies: Tallies,
    private readonly timedSet: string,
  ) {}

  add(blob: Blob): void {
    this.blobs.push(blob);
    this.bytes += blob.data.length;
    if (this.bytes >= BATCH_BYTES) this.flush();
  }

  flush(): void {
    if (this.blobs.length === 0) return;
    for (const codec of this.codecList) measureBatch(this.blobs, codec, this.tallies, this.timedSet);
    this.blobs = [];
    this.bytes = 0;
  }
}

interface LayerFile {
  path: string;
  role: Role;
  size: number;
  ready: boolean;
}

/** The bench's layer under `work`, written once; its files with role and ready/rest half, the ready half first. */
async function prepareLayer(): Promise<{ root: string; files: LayerFile[] }> {
  const root = join(work, 'corpus');
  const plan = planSignInCorpus(sizeMiB, fileCount, seed);
  const marker = join(work, 'written');
  if (!existsSync(marker)) {
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    console.error(`writing the layer (${fileCount} files, ${sizeMiB} MiB, seed ${seed}) in ${work} …`);
    await writeSignInCorpus(root, plan);
    writeFileSync(marker, '');
  }
  const nodes = new Map(plan.files.map((f): [string, FileNode] => [f.path, { type: 'file', size: f.size, mtimeMs: 0, mode: 0o644, content: f.path }]));
  const hot = makeExcluder(SIGNIN_HOT_PATHS, { defaults: false });
  const { ready } = splitReady(nodes, (p) => hot(p, false), SMALL_FILE_BYTES);
  const files = plan.files.map((f) => ({ path: f.path, role: f.role, size: f.size, ready: ready.has(f.path) }));
  return { root, files: [...files.filter((f) => f.ready), ...files.filter((f) => !f.ready)] };
}

/** One pass over the layer: every new chunk through every codec. Returns each file's chunk ids. */
async function chunkPass(root: string, files: readonly LayerFile[], codecList: readonly Codec[], tallies: Tallies): Promise<Map<string, string[]>> {
  const seen = new Set<string>();
  const chunksOf = new Map<string, string[]>();
  const batchers = { ready: new Batcher(codecList, tallies, 'ready'), rest: new Batcher(codecList, tallies, 'rest') };
  let duplicates = 0;
  for (const f of files) {
    const half = f.ready ? 'ready' : 'rest';
    const ids: string[] = [];
    for await (const c of chunkStream(createReadStream(join(root, f.path), { highWaterMark: 4 * MiB }), DEFAULT_CHUNKER)) {
      const id = blobId(c.data, DEFAULT_HASH);
      ids.push(id);
      if (seen.has(id)) {
        duplicates++;
        continue;
      }
      seen.add(id);
      batchers[half].add({ data: c.data, sets: [half, f.role] });
    }
    chunksOf.set(f.path, ids);
    if (!f.ready && f.size >= BATCH_BYTES) batchers.rest.flush();
  }
  batchers.ready.flush();
  batchers.rest.flush();
  if (duplicates > 0) console.error(`  ${duplicates} duplicate chunks counted once`);
  return chunksOf;
}

/** The layer's trees, one per folder, encoded as the snapshot stores them (ids with the default hash). */
function layerTrees(root: string, chunksOf: ReadonlyMap<string, string[]>): Buffer[] {
  const dirs = new Map<string, TreeEntry[]>([['', []]]);
  const entriesOf = (dir: string): TreeEntry[] => {
    let list = dirs.get(dir);
    if (!list) {
      dirs.set(dir, (list = []));
      entriesOf(dir.includes('/') ? dir.slice(0, dir.lastIndexOf('/')) : '');
    }
    return list;
  };
  for (const [path, chunks] of chunksOf) {
    const cut = path.lastIndexOf('/');
    const st = statSync(join(root, path));
    entriesOf(cut < 0 ? '' : path.slice(0, cut)).push({ name: path.slice(cut + 1), type: 'file', mode: modeOf(st), mtimeMs: mtimeOf(st), size: st.size, chunks });
  }
  const deepestFirst = [...dirs.keys()].sort((a, b) => b.split('/').length - a.split('/').length);
  const out: Buffer[] = [];
  for (const dir of deepestFirst) {
    const bytes = Buffer.from(encodeTree({ entries: dirs.get(dir) as TreeEntry[] } satisfies Tree));
    out.push(bytes);
    if (dir === '') continue;
    const cut = dir.lastIndexOf('/');
    const st = statSync(join(root, dir));
    (dirs.get(cut < 0 ? '' : dir.slice(0, cut)) as TreeEntry[]).push({ name: dir.slice(cut + 1), type: 'dir', mode: modeOf(st), mtimeMs: mtimeOf(st), subtree: blobId(bytes, DEFAULT_HASH) });
  }
  return out;
}

function measureTrees(trees: readonly Buffer[], codecList: readonly Codec[], tallies: Tallies): void {
  const batcher = new Batcher(codecList, tallies, 'trees');
  for (const data of trees) batcher.add({ data, sets: ['trees'] });
  batcher.flush();
  // The same trees as one stream: what a codec could get with the context of a whole pack.
  const whole = Buffer.concat(trees);
  for (const codec of codecList) tallies.get('trees as one stream', codec.name).always = codec.compress(whole).length;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

const mib = (bytes: number): string => (bytes / MiB).toFixed(1);
const pct = (part: number, whole: number): string => `${((100 * part) / whole).toFixed(1)}%`;
const rate = (bytes: number, us: number): string => (us > 0 ? (bytes / MiB / (us / 1e6)).toFixed(0) : '-');

/** A tally of the union of `sets` (their sizes add; the timed sets' CPU medians add). */
function combined(passes: readonly Tallies[], sets: readonly string[], codec: string): Tally {
  const first = passes[0] as Tallies;
  const t = newTally();
  for (const set of sets) {
    const a = first.get(set, codec);
    for (const k of ['chunks', 'raw', 'always', 'auto', 'keptChunks', 'keptRaw'] as const) t[k] += a[k];
    t.compressUs += median(passes.map((p) => p.get(set, codec).compressUs));
    t.decompressUs += median(passes.map((p) => p.get(set, codec).decompressUs));
  }
  return t;
}

function printTable(passes: readonly Tallies[], codecList: readonly Codec[]): Record<string, Record<string, Tally>> {
  const views: [string, string[]][] = [
    ['ready set', ['ready']],
    ['whole layer', ['ready', 'rest']],
    ['trees', ['trees']],
  ];
  const json: Record<string, Record<string, Tally>> = {};
  for (const [label, sets] of views) {
    const base = combined(passes, sets, (codecList[0] as Codec).name);
    console.log(`\n${label}: ${base.chunks} blobs, ${mib(base.raw)} MiB`);
    console.log('  codec          always MiB (%)      auto MiB (%)       kept compressed      compress MiB/s   decompress MiB/s (kept)   decompress CPU s');
    json[label] = {};
    for (const codec of codecList) {
      const t = combined(passes, sets, codec.name);
      json[label][codec.name] = t;
      console.log(
        `  ${codec.name.padEnd(13)}  ${mib(t.always).padStart(8)} (${pct(t.always, t.raw).padStart(6)})  ${mib(t.auto).padStart(8)} (${pct(t.auto, t.raw).padStart(6)})  ${`${t.keptChunks} (${pct(t.keptRaw, t.raw)} of bytes)`.padEnd(20)} ${rate(t.raw, t.compressUs).padStart(8)}         ${rate(t.keptRaw, t.decompressUs).padStart(8)}                  ${(t.decompressUs / 1e6).toFixed(2)}`,
      );
    }
  }
  const first = passes[0] as Tallies;
  console.log('\nauto, % of raw bytes by role:');
  for (const role of ['config', 'note', 'document', 'photo', 'database', 'trees as one stream']) {
    const raw = role === 'trees as one stream' ? first.get('trees', (codecList[0] as Codec).name).raw : first.get(role, (codecList[0] as Codec).name).raw;
    const cells = codecList.map((c) => `${c.name} ${pct(role === 'trees as one stream' ? first.get(role, c.name).always : first.get(role, c.name).auto, raw)}`);
    console.log(`  ${role.padEnd(20)} ${mib(raw).padStart(7)} MiB  ${cells.join('  ')}`);
  }
  return json;
}

async function main(): Promise<void> {
  const codecList = codecs();
  const { root, files } = await prepareLayer();
  const passes: Tallies[] = [];
  let trees: Buffer[] = [];
  for (let r = 0; r < runs; r++) {
    const tallies = new Tallies();
    const started = Date.now();
    const chunksOf = await chunkPass(root, files, codecList, tallies);
    if (r === 0) trees = layerTrees(root, chunksOf);
    measureTrees(trees, codecList, tallies);
    passes.push(tallies);
    console.error(`pass ${r + 1}/${runs}: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  console.log(`node ${process.version}, ${fileCount} files, ${sizeMiB} MiB, seed ${seed}; CPU: median of ${runs} passes, one thread; auto keeps a compressed chunk when it saves ≥ 1/8`);
  const json = printTable(passes, codecList);
  writeFileSync(join(work, `results-${process.version}.json`), `${JSON.stringify({ node: process.version, fileCount, sizeMiB, seed, runs, results: json }, null, 2)}\n`);
}

await main();
