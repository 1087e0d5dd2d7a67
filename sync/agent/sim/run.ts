/**
 * One seed from start to end: build the world, run its random steps, settle, check. Any failure
 * comes out as a SimFailure carrying the seed and the trace of the steps.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkWorld, settle } from './check.js';
import type { SeedStats } from './report.js';
import { randomStep } from './steps.js';
import { SimFailure, World, type WorldStore } from './world.js';

export interface SeedOptions {
  /** Random steps before the store heals. */
  steps: number;
  /** Parent dir for the seed's folders (see simBase). */
  base: string;
  /** Print each step as it runs. */
  verbose?: boolean;
  /** Leave a failed seed's folders on disk, for a look. */
  keep?: boolean;
  /** The bucket: memory (default) or the S3 test server, and how far listings lag. */
  where?: WorldStore;
}


/** tmpfs when there is one: the simulation is mostly small file writes and fsyncs. */
export function simBase(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}

export async function runSeed(seed: number, opts: SeedOptions): Promise<SeedStats> {
  const base = join(opts.base, `strata-sim-${process.pid}-${seed}`);
  let w: World | undefined;
  let ok = false;
  try {
    w = await World.create(seed, base, opts.verbose, opts.where);
    for (let i = 0; i < opts.steps; i++) await randomStep(w);
    await settle(w);
    const final = await checkWorld(w);
    ok = true;
    return {
      devices: w.devices.length,
      conflicts: Object.keys(final).filter((p) => p.includes('.sync-conflict-')).length,
      crashes: w.trace.filter((l) => l.includes('(crashed')).length,
      versions: w.ledger.written.size,
      required: w.ledger.mustSurvive().length,
      flags: [...w.flags],
      trace: w.trace,
    };
  } catch (err) {
    if (err instanceof SimFailure) throw err;
    throw new SimFailure(seed, 'error', `threw ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`, [...(w?.flags ?? [])], w?.trace ?? []);
  } finally {
    for (const d of w?.devices ?? []) await d.close();
    await w?.cleanup();
    if (ok || !opts.keep) await rm(base, { recursive: true, force: true });
    else console.log(`seed ${seed}: folders kept in ${base}`);
  }
}
