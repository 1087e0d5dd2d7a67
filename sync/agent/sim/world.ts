/**
 * One simulated world: the shared store, the devices, the fake clock, the seeded Rng every
 * decision draws from, the ledger of versions, and the trace printed when a seed fails.
 *
 * Time never comes from the system: snapshot times come from each device's clock (the world's
 * clock plus a fixed skew for that device), and user steps stamp the files they write with it,
 * so conflict names are the same on every run of a seed. Every user write gets its own
 * millisecond, so no two writes share an mtime (the stat cache could not tell them apart, as in
 * any real agent; that is not what this simulation is about).
 *
 * In half of the worlds the devices sync their user layer over an org layer (DESIGN §1): an
 * admin's folder, published as versions of `org/sim`, laid on every device at the start; steps
 * publish new versions and switch devices to them (SyncFolder.switchLower).
 */
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FaultyStore } from '../../store/faulty.js';
import type { ObjectStore } from '../../store/index.js';
import { LaggingStore } from '../../store/lagging.js';
import { MemoryStore } from '../../store/memory.js';
import { makeTestS3Store } from '../../testing/s3.js';
import { makeRng, type Rng } from '../../testing/random.js';
import { initStore } from '../testkit.js';
import { openRepository } from '../../repo/index.js';
import type { BlobId } from '../../repo/types.js';
import { takeSnapshot } from '../../snapshot/index.js';
import { SimDevice, smallFiles } from './device.js';
import { remove, walk, writeText, type Disk } from './disk.js';
import { fileKey, Ledger } from './ledger.js';
import { randomPath } from './steps.js';
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

export const ORG_LAYER = 'org/sim';

/** The org layer's admin: a folder of its own (a Disk, edited with disk.ts) and the versions published from it. */
export class OrgAdmin implements Disk {
  readonly name = 'admin';
  readonly root: string;
  /** Root trees of the published versions, oldest first. */
  readonly versions: BlobId[] = [];

  constructor(base: string) {
    this.root = join(base, 'org');
    mkdirSync(this.root, { recursive: true });
  }

  get latest(): BlobId {
    return this.versions[this.versions.length - 1]!;
  }

  markDirty(): void {}

  /** A few random writes and removes in the admin's folder, then a new version of it. */
  async publish(w: World, edits: number): Promise<void> {
    const ctx = { ledger: w.ledger, why: `step ${w.step} on admin`, admin: true };
    for (let i = 0; i < edits; i++) {
      const files = walk(this).filter((e) => e.kind === 'file');
      if (files.length > 0 && w.rng.chance(0.25)) {
        const { path } = w.rng.pick(files);
        w.note(`admin remove ${path}`);
        remove(ctx, this, path);
        continue;
      }
      const path = files.length > 0 && w.rng.chance(0.4) ? w.rng.pick(files).path : randomPath(w);
      const text = w.text('org');
      w.note(`admin write ${path} = ${text}`);
      w.ledger.write({ key: fileKey(text), step: w.step, device: 'admin', path });
      w.ledger.org.add(fileKey(text));
      writeText(ctx, this, path, text, w.mtime('admin'), false);
    }
    const repo = await openRepository(w.store);
    const { snapshot } = await takeSnapshot(repo, { root: this.root, layer: ORG_LAYER, device: 'admin', chunker: smallFiles, now: () => w.now('admin') });
    this.versions.push(snapshot.root);
    w.note(`admin publishes org version ${this.versions.length - 1}`);
  }
}

/**
 * Where a world keeps its bucket (sim.test.ts: SIM_STORE, SIM_LAG): memory, or a bucket of its own
 * on the S3 test server; with `lag`, listings lag writes by up to that many (store/lagging.ts)
 * until the store heals.
 */
export interface WorldStore {
  store?: 'memory' | 's3';
  lag?: number;
}

export class World {
  readonly rng: Rng;
  store: ObjectStore = new MemoryStore('memory:sim');
  /** Listings lag writes by up to this many, until the store heals. */
  lag = 0;
  /** Drops the world's bucket (S3). */
  cleanup: () => Promise<void> = async () => {};
  readonly ledger = new Ledger();
  readonly devices: SimDevice[] = [];
  readonly trace: string[] = [];
  readonly flags = new Set<Flag>();
  /** The org layer under the user layer, in half of the worlds. */
  org: OrgAdmin | undefined;
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

  static async create(seed: number, base: string, verbose = false, where: WorldStore = {}): Promise<World> {
    const w = new World(seed, base, verbose);
    mkdirSync(base, { recursive: true });
    if (where.store === 's3') {
      const s3 = await makeTestS3Store({ prefix: `sim-${seed}` });
      w.store = s3.store;
      w.cleanup = s3.cleanup;
    }
    if (where.lag !== undefined && where.lag > 0) {
      // Its own draws: a seed's steps stay the same whatever the lag.
      const rng = makeRng((seed * 13 + 5) >>> 0);
      w.lag = where.lag;
      w.store = new LaggingStore(w.store, { lag: () => (w.lag > 0 ? rng.int(w.lag + 1) : 0) });
    }
    await initStore(w.store);
    if (w.rng.chance(0.5)) {
      w.org = new OrgAdmin(base);
      await w.org.publish(w, w.rng.range(1, 6));
    }
    const n = w.rng.chance(0.5) ? 2 : 3;
    for (let i = 0; i < n; i++) {
      const name = DEVICE_NAMES[i]!;
      w.skew.set(name, w.rng.chance(0.3) ? w.rng.range(-120, 120) * 1000 : 0);
      const faulty = new FaultyStore(w.store, { seed: (seed * 7 + i) >>> 0, failRate: 0, failModes: ['before', 'afterPut'], listPageSize: 4 });
      const d = new SimDevice(name, join(base, 'devices'), faulty, w.store, () => w.now(name), w.rng.chance(0.3));
      if (w.org) {
        // The sign-in laid the org layer: its files, with their mtimes.
        cpSync(w.org.root, d.root, { recursive: true, preserveTimestamps: true });
        d.lower = [w.org.latest];
      }
      w.devices.push(d);
      await d.open();
    }
    if (w.org) w.note(`org layer laid on every device`);
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
