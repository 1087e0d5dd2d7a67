/**
 * One simulated world: the shared store, the devices, the fake clock, the seeded Rng every
 * decision draws from, the ledger of versions, and the trace printed when a seed fails.
 *
 * Time never comes from the system: snapshot times come from each device's clock (the world's
 * clock plus a fixed skew for that device), and user steps stamp the files they write with it,
 * so conflict names are the same on every run of a seed. Every user write gets its own
 * millisecond, so no two writes share an mtime (the stat cache could not tell them apart, as in
 * any real agent; that is not what this simulation is about).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FaultyStore } from '../../store/faulty.js';
import { MemoryStore } from '../../store/memory.js';
import { makeRng, type Rng } from '../../testing/random.js';
import { initStore } from '../testkit.js';
import { SimDevice } from './device.js';
import { Ledger } from './ledger.js';
import type { FailureKind, Flag } from './report.js';

const START = Date.UTC(2024, 5, 1, 9, 0, 0);
export const DEVICE_NAMES = ['deva', 'devb', 'devc'] as const;

export class SimFailure extends Error {
  constructor(
    readonly seed: number,
    readonly kind: FailureKind,
    what: string,
    readonly flags: Flag[],
    readonly trace: readonly string[],
  ) {
    super(`seed ${seed}: ${kind}: ${what}`);
    this.name = 'SimFailure';
  }
}

export class World {
  readonly rng: Rng;
  readonly store = new MemoryStore('memory:sim');
  readonly ledger = new Ledger();
  readonly devices: SimDevice[] = [];
  readonly trace: string[] = [];
  readonly flags = new Set<Flag>();
  step = 0;
  private clockMs = START;
  private writes = 0;
  private readonly skew = new Map<string, number>();

  private constructor(
    readonly seed: number,
    readonly base: string,
    readonly verbose: boolean,
  ) {
    this.rng = makeRng(seed);
  }

  static async create(seed: number, base: string, verbose = false): Promise<World> {
    const w = new World(seed, base, verbose);
    mkdirSync(base, { recursive: true });
    await initStore(w.store);
    const n = w.rng.chance(0.5) ? 2 : 3;
    for (let i = 0; i < n; i++) {
      const name = DEVICE_NAMES[i]!;
      w.skew.set(name, w.rng.chance(0.3) ? w.rng.range(-120, 120) * 1000 : 0);
      const faulty = new FaultyStore(w.store, { seed: (seed * 7 + i) >>> 0, failRate: 0, failModes: ['before', 'afterPut'], listPageSize: 4 });
      const d = new SimDevice(name, join(base, 'devices'), faulty, w.store, () => w.now(name), w.rng.chance(0.3));
      w.devices.push(d);
      await d.open();
    }
    w.note(`devices ${w.devices.map((d) => `${d.name}${d.poll ? '(poll)' : ''}${w.skew.get(d.name) ? `(skew ${w.skew.get(d.name)! / 1000}s)` : ''}`).join(' ')}`);
    return w;
  }

  now(device: string): Date {
    return new Date(this.clockMs + (this.skew.get(device) ?? 0));
  }

  /** Lets time pass: a few seconds between steps. */
  tick(maxSeconds = 30): void {
    this.clockMs += this.rng.range(1, maxSeconds) * 1000;
  }

  /** The mtime for one user write on `device`: its clock, in a millisecond no other write has. */
  mtime(device: string): Date {
    this.writes++;
    return new Date(this.now(device).getTime() + (this.writes % 1000));
  }

  /** A text no other write has (unless an identical edit shares it on purpose). */
  text(tag: string): string {
    return `s${this.seed}.${this.step}.${tag}${'+'.repeat(this.rng.int(3))}`;
  }

  note(line: string): void {
    const entry = `#${this.step} ${line}`;
    this.trace.push(entry);
    if (this.verbose) console.log(entry);
  }

  fail(kind: FailureKind, what: string): never {
    throw new SimFailure(this.seed, kind, what, [...this.flags], this.trace);
  }
}
