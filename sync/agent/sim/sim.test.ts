/**
 * The seeded randomized simulation of live sync (issue #4, tests: "a seeded randomized
 * simulation"). Each seed builds 2–3 devices — real folders and state dirs, each with its own
 * Repository over one shared MemoryStore, through a FaultyStore of its own — and runs random
 * steps: users creating, editing, deleting, renaming and retyping files, dirs and symlinks (also
 * the same path on two devices, also identical edits, also in the middle of a pass), passes on a
 * random device, passes that cross (another device, or two nested, passing whole in the middle of
 * one: heads with several best common ancestors), store faults (failures before a request, puts whose reply is lost), crashes
 * (the agent process dies at its n-th store request and restarts) and restarts. In half of the
 * seeds the user layer syncs over an org layer laid on every device, and steps also publish new
 * versions of it and switch devices to them (live org layer switches). Then the store heals,
 * every device switches to the org layer's latest version and passes until a whole round changes
 * nothing, and the checks run.
 *
 * Checks:
 * 1. Convergence: every device's folder lists the same paths, kinds and bytes; every head names
 *    one tree, and that tree read back from the store is exactly that listing. A full rescan
 *    afterwards changes nothing (the watcher-driven scans missed nothing). No file holds bytes
 *    that no step wrote, and no engine temp file is left.
 * 1b. Over an org layer: the listing is the user layer over the org's latest version, and the
 *    user layer holds an org version (outside conflict copies) only where a user moved or touched
 *    it, and a whiteout only where a user removed, moved away or retyped something at or above
 *    its path: no untouched org file is pinned at an old version, no new one hidden.
 * 2. No version lost. A version is one user write: a file's text or a symlink's target, unique
 *    per write (`s<seed>.<step>.<device>…`; an identical edit shares one text on purpose).
 *    The admin's writes are versions of the org layer, not the users': the rule leaves them out.
 *    THE RULE: every version must be in the final tree — at any path, under its own name or as a
 *    conflict copy — unless a user step destroyed it: deleted, overwrote or retyped a path at or
 *    under which that version was on that device's disk at that moment (the ledger reads the
 *    disk before every destructive step; a rename moves a version, it destroys nothing).
 *    Why this is sound: the merge may only drop a version when some side deliberately removed
 *    it from a state that contained it (delete, edit over it); a device whose disk never held a
 *    version cannot have "seen and removed" it, so its change is concurrent and must leave a
 *    conflict copy (edit vs edit), or lose to the edit (delete vs edit). Versions never uploaded
 *    count too: the final convergence scans every disk, and the executor must never overwrite
 *    what it did not expect. The rule is conservative: once destroyed on one device, a version
 *    is no longer required anywhere, even where another device renamed it away.
 *    Why it is meaningful: the last test runs seeds with a merge that drops each conflict's
 *    losing version (broken-merge.ts, swapped in by module hooks in a child process) and
 *    requires the check to report lost versions.
 *
 * Running: SIM_SEEDS=n seeds (default DEFAULT_SEEDS) from SIM_FROM (default: random, printed),
 * SIM_STEPS steps each (default 16), SIM_WORKERS child processes (default 2). SIM_LAG=n makes the
 * store's listings lag its writes by up to n until it heals (store/lagging.ts, as Swift's may);
 * SIM_STORE=s3 puts each seed's store on a bucket of its own on the S3 test server (slow: opt-in).
 * SEED=n runs one seed and prints its steps; SIM_KEEP=1 keeps a failed seed's folders. Any failure fails the
 * run and prints its seed (bugs.test.ts holds the bugs it found, each cut down to a script).
 */
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { runSeeds } from './pool.js';
import type { SeedReport } from './report.js';
import { simBase } from './run.js';

const DEFAULT_SEEDS = 2000;
const envInt = (name: string, fallback: number): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
};

const single = process.env.SEED !== undefined && process.env.SEED !== '';
const from = single ? envInt('SEED', 0) : envInt('SIM_FROM', Math.floor(Math.random() * 2 ** 31));
const count = single ? 1 : envInt('SIM_SEEDS', DEFAULT_SEEDS);
const seeds = Array.from({ length: count }, (_, i) => from + i);
const steps = envInt('SIM_STEPS', 16);
const workers = envInt('SIM_WORKERS', Math.min(2, availableParallelism()));
const storeKind = process.env.SIM_STORE === 's3' ? 's3' : 'memory';
if (process.env.SIM_STORE !== undefined && process.env.SIM_STORE !== '' && process.env.SIM_STORE !== storeKind) throw new RangeError(`SIM_STORE must be memory or s3, got ${JSON.stringify(process.env.SIM_STORE)}`);
const where = { store: storeKind, lag: envInt('SIM_LAG', 0) } as const;

let results: Promise<SeedReport[]> | undefined;
function run(): Promise<SeedReport[]> {
  results ??= runSeeds(seeds, { steps, base: simBase(), workers, seedTimeoutMs: 60_000, keep: process.env.SIM_KEEP === '1', verbose: single, where });
  return results;
}

function failures(rs: readonly SeedReport[]): Array<Extract<SeedReport, { ok: false }>> {
  return rs.filter((r): r is Extract<SeedReport, { ok: false }> => !r.ok);
}

function describe(r: Extract<SeedReport, { ok: false }>, withTrace: boolean): string {
  const flags = r.flags.length > 0 ? ` [${r.flags.join(', ')}]` : '';
  const head = `SEED=${r.seed}${flags} ${r.message.split('\n').slice(0, 12).join('\n')}`;
  return withTrace && r.trace.length > 0 ? `${head}\n  steps:\n    ${r.trace.slice(0, 80).join('\n    ')}` : head;
}

test(`simulation: ${count} seed(s) converge and lose no version`, { timeout: 600_000 }, async () => {
  const started = Date.now();
  console.log(single ? `sim: seed ${from}` : `sim: seeds ${from}..${from + count - 1} (SIM_FROM=${from} SIM_SEEDS=${count} replays this run; SEED=n replays one seed)`);
  const rs = await run();
  const secs = (Date.now() - started) / 1000;
  const ok = rs.flatMap((r) => (r.ok ? [r.stats] : []));
  const sum = (f: (s: (typeof ok)[number]) => number) => ok.reduce((n, s) => n + f(s), 0);
  console.log(
    `sim: ${rs.length} seeds in ${secs.toFixed(1)} s (${(rs.length / secs).toFixed(1)} seeds/s, ${workers} workers, ${steps} steps); ` +
      `passed ${ok.length}: ${sum((s) => s.conflicts)} conflict copies, ${sum((s) => s.crashes)} crashes, ${sum((s) => s.versions)} versions (${sum((s) => s.required)} required at the end)`,
  );
  const failed = failures(rs);
  assert.equal(failed.length, 0, `${failed.length} seed(s) failed:\n${failed.map((r, i) => describe(r, i === 0 || single)).join('\n')}`);
});

test('simulation self-test: a merge that drops conflict copies is caught', { skip: single && 'SEED is set', timeout: 120_000 }, async () => {
  const some = Array.from({ length: 30 }, (_, i) => 1 + i);
  const opts = { steps, base: simBase(), workers, seedTimeoutMs: 60_000 };
  const fine = new Set((await runSeeds(some, opts)).filter((r) => r.ok).map((r) => r.seed));
  const broken = await runSeeds(some, { ...opts, brokenMerge: true });
  // Only seeds that pass with the real merge count: what fails then is the broken merge's doing.
  const caught = failures(broken).filter((r) => r.kind === 'lost' && fine.has(r.seed));
  console.log(`sim self-test: of ${fine.size} seeds that pass, the broken merge lost versions in ${caught.length}; first: ${caught[0] ? describe(caught[0], false) : 'none'}`);
  assert.ok(caught.length >= 5, `the broken merge should lose versions in many seeds, lost in ${caught.length}`);
});
