/**
 * The random steps of a simulation: what users do to the folders (disk.ts), passes, crashes,
 * restarts and store faults, and — in worlds with an org layer — the admin publishing a new
 * version and devices switching to it, each drawn from the world's Rng. A small namespace of names
 * (`a`, `b` as dirs and as files, `x.txt`, `y`) makes different devices touch the same paths and
 * turn files into dirs and back often.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FailMode } from '../../store/faulty.js';
import { isExpected, type PassOutcome, type SimDevice } from './device.js';
import { kindAt, makeDir, makeSymlink, move, remove, touch, walk, writeText, type UserContext } from './disk.js';
import { fileKey, linkKey } from './ledger.js';
import type { World } from './world.js';

const DIRS = ['a', 'b'];
const LEAVES = ['a', 'b', 'x.txt', 'y'];

type StepKind = 'write' | 'modify' | 'remove' | 'move' | 'mkdir' | 'symlink' | 'touch' | 'concurrent' | 'identical' | 'pass' | 'midpass' | 'crash' | 'restart' | 'fault' | 'publish' | 'switch' | 'cross';

const WEIGHTS: ReadonlyArray<[StepKind, number]> = [
  ['write', 16],
  ['modify', 12],
  ['remove', 6],
  ['move', 7],
  ['mkdir', 3],
  ['symlink', 4],
  ['touch', 3],
  ['concurrent', 7],
  ['identical', 3],
  ['pass', 24],
  ['midpass', 4],
  ['cross', 5],
  ['crash', 5],
  ['restart', 2],
  ['fault', 4],
  ['publish', 3],
  ['switch', 5],
];
const TOTAL = WEIGHTS.reduce((s, [, w]) => s + w, 0);

function drawKind(w: World): StepKind {
  let r = w.rng.int(TOTAL);
  for (const [kind, weight] of WEIGHTS) {
    if (r < weight) return kind;
    r -= weight;
  }
  return 'pass';
}

export function randomPath(w: World): string {
  const depth = w.rng.pick([0, 1, 1, 2]);
  const parts: string[] = [];
  for (let i = 0; i < depth; i++) parts.push(w.rng.pick(DIRS));
  parts.push(w.rng.pick(LEAVES));
  return parts.join('/');
}

function ctx(w: World, d: SimDevice): UserContext {
  return { ledger: w.ledger, why: `step ${w.step} on ${d.name}` };
}

/** A write at a random path or over an existing file (sync: it may run inside a pass). */
function userWrite(w: World, d: SimDevice, tag: string, existingOnly: boolean): void {
  const files = walk(d).filter((e) => e.kind === 'file');
  const path = files.length > 0 && (existingOnly || w.rng.chance(0.3)) ? w.rng.pick(files).path : randomPath(w);
  const text = w.text(`${tag}${d.name}`);
  w.note(`${d.name} write ${path} = ${text}`);
  w.ledger.write({ key: fileKey(text), step: w.step, device: d.name, path });
  writeText(ctx(w, d), d, path, text, w.mtime(d.name), w.rng.chance(0.5));
}

function pickEntry(w: World, d: SimDevice, kinds: readonly string[]): string | undefined {
  const all = walk(d).filter((e) => kinds.includes(e.kind));
  return all.length === 0 ? undefined : w.rng.pick(all).path;
}

function userMove(w: World, d: SimDevice): void {
  const from = pickEntry(w, d, ['file', 'dir', 'symlink']);
  if (from === undefined) return;
  for (let i = 0; i < 5; i++) {
    const to = randomPath(w);
    if (to === from || to.startsWith(`${from}/`) || kindAt(d, to) !== undefined) continue;
    w.note(`${d.name} move ${from} → ${to}`);
    return move(ctx(w, d), d, from, to);
  }
}

async function report(w: World, d: SimDevice, r: PassOutcome): Promise<void> {
  if (r.status === 'error') {
    const code = (r.error as { code?: string }).code ?? String(r.error);
    const msg = w.verbose ? `: ${(r.error as Error).message}` : '';
    w.note(`${d.name} pass failed ${code}${r.crashed ? ' (crashed, restarted)' : ''}${msg}`);
    if (/^a pack (?:upload failed|is not stored): /.test(String((r.error as Error).message))) w.flags.add('poisoned-writer');
    // A listing that lags may leave out the index of a head it lists: the pass fails (E_NOT_LISTED_YET, or
    // E_BLOB_NOT_FOUND when the listing still lags once the index was loaded again) and a later one loads it.
    const lagged = w.lag > 0 && (code === 'E_NOT_LISTED_YET' || code === 'E_BLOB_NOT_FOUND');
    if (!r.crashed && !isExpected(r.error) && !lagged) w.fail('error', `unexpected pass error on ${d.name}: ${(r.error as Error).stack ?? String(r.error)}`);
    return;
  }
  if (r.status === 'held') {
    w.note(`${d.name} pass held ${r.held.files} deletes: the user confirms`);
    await d.folder?.approve(r.held);
    return;
  }
  const extra = r.status === 'synced' ? ` ${r.snapshot === undefined ? 'no snapshot' : 'snapshot'} ${r.conflicts.length} conflicts` : '';
  w.note(`${d.name} pass ${r.status}${extra}`);
  if (w.verbose) {
    w.note(`  scan changed: ${r.scan.changed.join(' ')}`);
    w.note(`  disk: ${walk(d).map((e) => `${e.path}${e.kind === 'dir' ? '/' : e.kind === 'symlink' ? '@' : ''}`).join(' ')}`);
  }
}

export async function pass(w: World, d: SimDevice): Promise<PassOutcome> {
  w.tick(3);
  const r = await d.pass();
  if (existsSync(join(d.state, 'pending.json'))) w.flags.add('pending-merge');
  await report(w, d, r);
  return r;
}

/** One random step. */
export async function randomStep(w: World): Promise<void> {
  w.step++;
  w.tick();
  const d = w.rng.pick(w.devices);
  const kind = drawKind(w);
  switch (kind) {
    case 'write':
      return userWrite(w, d, '', false);
    case 'modify':
      return userWrite(w, d, '', true);
    case 'remove': {
      const p = pickEntry(w, d, ['file', 'dir', 'symlink']);
      if (p === undefined) return;
      w.note(`${d.name} remove ${p}`);
      return remove(ctx(w, d), d, p);
    }
    case 'move':
      return userMove(w, d);
    case 'mkdir': {
      const p = randomPath(w);
      w.note(`${d.name} mkdir ${p}`);
      return makeDir(ctx(w, d), d, p);
    }
    case 'symlink': {
      const p = randomPath(w);
      const target = `t${w.seed}.${w.step}`;
      w.note(`${d.name} symlink ${p} -> ${target}`);
      w.ledger.write({ key: linkKey(target), step: w.step, device: d.name, path: p });
      return makeSymlink(ctx(w, d), d, p, target, w.mtime(d.name));
    }
    case 'touch': {
      const p = pickEntry(w, d, ['file', 'symlink']);
      if (p === undefined) return;
      w.note(`${d.name} touch ${p}`);
      return touch(ctx(w, d), d, p, w.mtime(d.name));
    }
    case 'concurrent':
    case 'identical':
      return sameFile(w, kind === 'identical');
    case 'pass':
      await pass(w, d);
      return;
    case 'midpass':
      return midPass(w, d);
    case 'cross':
      return crossedPasses(w);
    case 'crash':
      return crash(w, d);
    case 'restart':
      w.note(`${d.name} restart`);
      await d.restart();
      return;
    case 'fault':
      return fault(w, d);
    case 'publish':
      if (w.org) await w.org.publish(w, w.rng.range(1, 4));
      return;
    case 'switch':
      return switchOrg(w, d);
  }
}

/** The device switches to the org layer's latest version (not while a switch is in progress). */
export function switchOrg(w: World, d: SimDevice): void {
  const latest = w.org?.latest;
  if (latest === undefined || d.lower[0] === latest) return;
  if (d.switchLower([latest])) w.note(`${d.name} switches to org version ${w.org!.versions.indexOf(latest)}`);
}

/** Two devices write one path: different texts (a conflict), or the same text (none). */
function sameFile(w: World, identical: boolean): void {
  const [d1, d2] = w.rng.shuffle(w.devices) as [SimDevice, SimDevice];
  const files = walk(d1).filter((e) => e.kind === 'file');
  const path = files.length > 0 && w.rng.chance(0.7) ? w.rng.pick(files).path : randomPath(w);
  const shared = w.text('same');
  const mtime = w.rng.chance(0.5) ? w.mtime(d1.name) : undefined;
  for (const d of [d1, d2]) {
    const text = identical ? shared : w.text(d.name);
    w.note(`${d.name} ${identical ? 'identical' : 'concurrent'} write ${path} = ${text}`);
    w.ledger.write({ key: fileKey(text), step: w.step, device: d.name, path });
    writeText(ctx(w, d), d, path, text, identical && mtime ? mtime : w.mtime(d.name), w.rng.chance(0.5));
  }
}

/** A pass during which the user writes a file, while the pass waits on the store. */
async function midPass(w: World, d: SimDevice): Promise<void> {
  if (!d.up) return;
  const at = w.rng.range(1, 25);
  w.note(`${d.name} pass with a user write at request ${at}`);
  let failed: unknown;
  // The user's write must not fail into the agent's store request: that would be a harness bug.
  d.wire!.actAt(at, () => {
    try {
      userWrite(w, d, 'mid', w.rng.chance(0.5));
    } catch (err) {
      failed = err;
    }
  });
  await pass(w, d);
  if (failed !== undefined) throw failed;
}

/**
 * Passes that cross: devices write, then in the middle of one device's pass (at its n-th store
 * request) another device passes whole, and with three devices a third may pass in the middle of
 * that one. Each reads the others' heads from before, so their snapshots merge each other's older
 * ones (heads with several best common ancestors from then on).
 */
async function crossedPasses(w: World): Promise<void> {
  const order = w.rng.shuffle(w.devices).slice(0, w.devices.length === 3 && w.rng.chance(0.5) ? 3 : 2);
  // Crossed passes write snapshots that merge each other's older ones only where each has something of its own.
  for (const d of order) if (w.rng.chance(0.7)) userWrite(w, d, '', false);
  const failed: unknown[] = [];
  for (let i = 0; i + 1 < order.length; i++) {
    const [outer, inner] = [order[i]!, order[i + 1]!];
    // A pass that changes something makes a dozen or more requests; its heads are read first.
    const at = w.rng.range(1, 12);
    if (!outer.up) continue;
    outer.wire!.holdAt(at, async () => {
      w.note(`${inner.name} passes in the middle of ${outer.name}'s pass (its request ${at})`);
      await pass(w, inner).catch((err: unknown) => void failed.push(err));
    });
  }
  w.note(`${order[0]!.name} pass crossed by ${order.slice(1).map((d) => d.name).join(', ')}`);
  await pass(w, order[0]!);
  for (const d of order) d.wire?.disarm();
  if (failed.length > 0) throw failed[0];
}

/** A pass whose process dies at the n-th store request (or right after the pass, if fewer). */
async function crash(w: World, d: SimDevice): Promise<void> {
  if (!d.up) return;
  const at = w.rng.range(1, 40);
  const land = w.rng.chance(0.5);
  w.note(`${d.name} pass that crashes at request ${at}${land ? ' (a put there lands)' : ''}`);
  d.wire!.crashAt(at, land);
  const r = await pass(w, d);
  if (r.status !== 'error' || !r.crashed) {
    w.note(`${d.name} crashes after the pass`);
    await d.restart();
  }
}

function fault(w: World, d: SimDevice): void {
  if (w.rng.chance(0.5)) {
    const rate = w.rng.pick([0, 0, 0.05, 0.2, 0.5]);
    w.note(`${d.name} store fail rate ${rate}`);
    d.faulty.failRate = rate;
  } else {
    const n = w.rng.range(1, 3);
    const mode = w.rng.pick<FailMode>(['before', 'afterPut']);
    w.note(`${d.name} next ${n} requests fail (${mode})`);
    d.faulty.failNext(n, mode);
  }
}
