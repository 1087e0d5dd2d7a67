/**
 * Propagation latency: a save on device A until the file is complete on device B, both agents
 * running `strata sync --poll 1` on one layer. The clock starts just before the write on A and
 * stops when B's copy has the new bytes (size, then SHA-256 of the whole file), polled every
 * 10 ms; the watcher's debounce and stability wait on A are part of what is measured.
 *
 * Trials alternate a small file and a 4 MiB one, each an edit of a file both devices already
 * have (as saving a document is). Each trial starts after a seeded random pause of 1.5–2.5 s, so
 * the saves fall at every phase of B's 1 s poll rather than always at the same one.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { StrataError } from '../errors.js';
import type { Rng } from '../testing/random.js';
import { ByteSource } from './content.js';
import { isAborted } from './proc.js';

const MiB = 1024 * 1024;
const POLL_MS = 10;
const TRIAL_TIMEOUT_MS = 30_000;

export interface LatencyRecord {
  bytes: number;
  /** Seconds of each trial that completed, in order. */
  seconds: number[];
  /** Trials that did not complete, with why. */
  failures: string[];
}

export interface LatencyResults {
  small: LatencyRecord;
  large: LatencyRecord;
}

interface Kind {
  name: keyof LatencyResults;
  path: string;
  content: (trial: number) => Buffer;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Resolves with performance.now() once `path` holds exactly `want`; rejects after `timeoutMs`. */
async function arrival(path: string, want: Buffer, timeoutMs: number): Promise<number> {
  const digest = sha256(want);
  const deadline = performance.now() + timeoutMs;
  let seen = '';
  while (performance.now() < deadline) {
    if (isAborted()) throw new StrataError('E_BENCH_ABORTED', 'interrupted during the latency trials');
    const st = await stat(path).catch(() => undefined);
    // Only a new (inode, mtime, size) can hold new bytes: the executor renames a finished temp file into place.
    const id = st ? `${st.ino}:${st.mtimeMs}:${st.size}` : '';
    if (st && st.size === want.length && id !== seen) {
      seen = id;
      const now = performance.now();
      const bytes = await readFile(path).catch(() => undefined);
      if (bytes && sha256(bytes) === digest) return now;
    }
    await sleep(POLL_MS);
  }
  throw new StrataError('E_BENCH_TIMEOUT', `the file did not arrive within ${timeoutMs / 1000} s`, { path });
}

export async function measureLatency(dirA: string, dirB: string, trials: number, seed: number, rng: Rng, log: (line: string) => void): Promise<LatencyResults> {
  const text = (trial: number): Buffer => Buffer.from(`# notes, save ${trial}\n${Buffer.from(rng.bytes(512)).toString('hex')}\n`);
  const kinds: Kind[] = [
    { name: 'small', path: 'notes/today.txt', content: text },
    { name: 'large', path: 'notes/drawing.bin', content: (trial) => new ByteSource(seed, `live-large-${trial}`).take(4 * MiB) },
  ];
  const results: LatencyResults = {
    small: { bytes: 0, seconds: [], failures: [] },
    large: { bytes: 4 * MiB, seconds: [], failures: [] },
  };
  // The files exist on both devices before the first timed save.
  for (const k of kinds) {
    const first = k.content(-1);
    await mkdir(dirname(join(dirA, k.path)), { recursive: true });
    await writeFile(join(dirA, k.path), first);
    await arrival(join(dirB, k.path), first, 120_000);
  }
  for (let trial = 0; trial < trials; trial++) {
    for (const k of kinds) {
      await sleep(1500 + rng.int(1000));
      const bytes = k.content(trial);
      results[k.name].bytes = bytes.length;
      const t0 = performance.now();
      await writeFile(join(dirA, k.path), bytes);
      try {
        const s = ((await arrival(join(dirB, k.path), bytes, TRIAL_TIMEOUT_MS)) - t0) / 1000;
        results[k.name].seconds.push(s);
        log(`    ${k.name} save ${trial + 1}/${trials}: ${s.toFixed(2)} s`);
      } catch (err) {
        if (err instanceof StrataError && err.code === 'E_BENCH_ABORTED') throw err;
        results[k.name].failures.push(err instanceof Error ? err.message : String(err));
        log(`    ${k.name} save ${trial + 1}/${trials}: did not arrive within ${TRIAL_TIMEOUT_MS / 1000} s`);
      }
    }
  }
  return results;
}
