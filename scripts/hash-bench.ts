// Standalone measurement behind the chunker's choices (sync/chunker/index.ts header):
// SHA-256 vs BLAKE3, chunking alone and with hashing, the worker pool on all cores, and the
// re-upload after a 1 MiB edit in the middle of a 512 MiB file.
//
// Usage: node --import tsx scripts/hash-bench.ts [--quick] [hash|chunk|pool|edit ...]
// The machine may be shared, so every figure is the best of several runs. MB = 10^6 bytes.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { blobId, ChunkPool, cutPoints, DEFAULT_CHUNKER, DEFAULT_HASH, measureChunkHash, type HashAlgorithm } from '../sync/chunker/index.js';
import { makeRng } from '../sync/testing/random.js';

const MiB = 1024 * 1024;
const quick = process.argv.includes('--quick');
const REPEATS = quick ? 2 : 5;
const mb = (bytes: number, ms: number) => (bytes / 1e6 / (ms / 1e3)).toFixed(0);

async function best(run: () => unknown): Promise<number> {
  let ms = Infinity;
  for (let r = 0; r < REPEATS; r++) {
    const t0 = performance.now();
    await run();
    ms = Math.min(ms, performance.now() - t0);
  }
  return ms;
}

function randomBuffer(n: number, seed: number): Buffer {
  const rng = makeRng(seed);
  const out = Buffer.allocUnsafe(n);
  for (let at = 0; at < n; at += MiB) out.set(rng.bytes(Math.min(MiB, n - at)), at);
  return out;
}

async function hashOnly(): Promise<void> {
  const total = (quick ? 128 : 512) * MiB;
  for (const size of [256 * 1024, MiB]) {
    const buf = randomBuffer(size, 1);
    for (const algorithm of ['sha256', 'blake3'] as HashAlgorithm[]) {
      const ms = await best(() => {
        for (let done = 0; done < total; done += size) blobId(buf, algorithm);
      });
      console.log(`hash only  ${algorithm.padEnd(6)} ${String(size / 1024).padStart(5)} KiB buffers: ${mb(total, ms)} MB/s`);
    }
  }
  const sanity = createHash('sha256').update('abc').digest('hex').slice(0, 8);
  if (sanity !== 'ba7816bf') throw new Error('sha256 broken');
}

function chunkHash(): void {
  const bytes = (quick ? 128 : 512) * MiB;
  for (const hash of ['sha256', 'blake3'] as HashAlgorithm[]) {
    const m = measureChunkHash(bytes, { hash, repeats: REPEATS });
    const f = (wall: number, cpu: number) => `${wall.toFixed(0)} MB/s (CPU time: ${cpu.toFixed(0)})`;
    console.log(`one thread ${hash.padEnd(6)}: chunk only ${f(m.chunkOnlyMbPerSec, m.cpu.chunkOnlyMbPerSec)}, hash only ${f(m.hashOnlyMbPerSec, m.cpu.hashOnlyMbPerSec)}, chunk+hash ${f(m.mbPerSec, m.cpu.mbPerSec)}; ${m.chunks} chunks, mean ${(m.bytes / m.chunks / 1024).toFixed(0)} KiB`);
  }
}

async function pool(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'strata-hash-bench-'));
  try {
    const size = (quick ? 64 : 256) * MiB;
    const cores = availableParallelism();
    const files = Array.from({ length: cores * 2 }, (_, i) => {
      const path = join(dir, `f${i}`);
      writeFileSync(path, randomBuffer(size, 10 + i));
      return path;
    });
    for (const workers of [1, cores]) {
      const p = new ChunkPool({ size: workers });
      const ms = await best(() => Promise.all(files.map((f) => p.chunkFile(f, DEFAULT_CHUNKER))));
      await p.close();
      console.log(`pool, ${workers} worker(s), ${files.length} files of ${size / MiB} MiB (page cache): ${mb(size * files.length, ms)} MB/s`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function editReupload(): void {
  const size = (quick ? 128 : 512) * MiB;
  const data = randomBuffer(size, 99);
  const chunks = (b: Buffer) => {
    const ends = cutPoints(b, DEFAULT_CHUNKER);
    return ends.map((end, i) => ({ id: blobId(b.subarray(i === 0 ? 0 : ends[i - 1]!, end), DEFAULT_HASH), length: end - (i === 0 ? 0 : ends[i - 1]!) }));
  };
  const known = new Set(chunks(data).map((c) => c.id));
  const rng = makeRng(7);
  const results: number[] = [];
  for (let t = 0; t < (quick ? 3 : 8); t++) {
    const at = size / 2 + rng.int(8 * MiB) - 4 * MiB;
    const edited = Buffer.concat([data.subarray(0, at), rng.bytes(MiB), data.subarray(at + MiB)]);
    results.push(chunks(edited).filter((c) => !known.has(c.id)).reduce((n, c) => n + c.length, 0) / MiB);
  }
  console.log(`1 MiB overwrite in the middle of ${size / MiB} MiB, ${results.length} positions: re-upload ${results.map((r) => r.toFixed(2)).join(', ')} MiB`);
}

const sections: Record<string, () => unknown> = { hash: hashOnly, chunk: chunkHash, pool, edit: editReupload };
const chosen = process.argv.slice(2).filter((a) => !a.startsWith('--'));
console.log(`params ${JSON.stringify(DEFAULT_CHUNKER)}, ${availableParallelism()} cores, best of ${REPEATS}`);
for (const [name, run] of Object.entries(sections)) if (chosen.length === 0 || chosen.includes(name)) await run();
