/**
 * What the simulated user does to a device's folder. Every operation is synchronous, so it can
 * also run in the middle of a pass (from a Tripwire action) without interleaving with anything,
 * and it tells the ledger which versions it wrote and which ones it destroyed: a version counts
 * as destroyed when it was on this disk, at or under a path the user deleted or overwrote, at the
 * moment of the step. Each operation reports the paths it touched to the device, as a watcher
 * would (old and new path for a rename).
 */
import { lstatSync, lutimesSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileKey, linkKey, type Ledger } from './ledger.js';

export interface Disk {
  readonly name: string;
  readonly root: string;
  markDirty(paths: readonly string[]): void;
}

export type Kind = 'file' | 'dir' | 'symlink';

export interface UserContext {
  ledger: Ledger;
  /** Describes the current step in kill records ("step 7 deva"). */
  why: string;
  /** The org layer's admin, not a user: what it removes or moves makes no whiteout legitimate. */
  admin?: boolean;
}

export function kindAt(d: Disk, rel: string): Kind | undefined {
  let st;
  try {
    st = lstatSync(join(d.root, rel), { throwIfNoEntry: false });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
  if (st === undefined) return undefined;
  return st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'file';
}

/** The executor's temp and stash files: no user touches them, and they hold no version. */
function isEngineFile(name: string): boolean {
  return name.startsWith('.strata-');
}

/** Every entry under the root, sorted, with its kind (the engine's own files left out). */
export function walk(d: Disk, rel = '', out: Array<{ path: string; kind: Kind }> = []): Array<{ path: string; kind: Kind }> {
  for (const name of readdirSync(join(d.root, rel)).sort()) {
    if (isEngineFile(name)) continue;
    const path = rel === '' ? name : `${rel}/${name}`;
    const kind = kindAt(d, path)!;
    out.push({ path, kind });
    if (kind === 'dir') walk(d, path, out);
  }
  return out;
}

function parents(rel: string): string[] {
  const parts = rel.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** Marks every version at or under `rel` as destroyed by this step. */
function collect(ctx: UserContext, d: Disk, rel: string): void {
  const kind = kindAt(d, rel);
  const abs = join(d.root, rel);
  if (kind === 'file') ctx.ledger.kill(fileKey(readFileSync(abs, 'utf8')), ctx.why);
  else if (kind === 'symlink') ctx.ledger.kill(linkKey(readlinkSync(abs)), ctx.why);
  else if (kind === 'dir') for (const name of readdirSync(abs)) if (!isEngineFile(name)) collect(ctx, d, `${rel}/${name}`);
}

/** The org versions at or under `rel` are the user's now (a move or a touch copies them up). */
function adopt(ctx: UserContext, d: Disk, rel: string): void {
  if (ctx.admin) return;
  const kind = kindAt(d, rel);
  const abs = join(d.root, rel);
  if (kind === 'file') ctx.ledger.adopted.add(fileKey(readFileSync(abs, 'utf8')));
  else if (kind === 'symlink') ctx.ledger.adopted.add(linkKey(readlinkSync(abs)));
  else if (kind === 'dir') for (const name of readdirSync(abs)) if (!isEngineFile(name)) adopt(ctx, d, `${rel}/${name}`);
}

function destroy(ctx: UserContext, d: Disk, rel: string): void {
  if (kindAt(d, rel) === undefined) return;
  if (!ctx.admin) ctx.ledger.removedAt.add(rel);
  collect(ctx, d, rel);
  rmSync(join(d.root, rel), { recursive: true, force: true });
}

/** Makes every ancestor of `rel` a dir, deleting a file or symlink that stands in the way. */
function ensureParents(ctx: UserContext, d: Disk, rel: string): string[] {
  const touched: string[] = [];
  for (const p of parents(rel)) {
    const kind = kindAt(d, p);
    if (kind === 'dir') continue;
    if (kind !== undefined) destroy(ctx, d, p);
    mkdirSync(join(d.root, p));
    touched.push(p);
  }
  return touched;
}

export function writeText(ctx: UserContext, d: Disk, rel: string, text: string, mtime: Date, atomic: boolean): void {
  const touched = ensureParents(ctx, d, rel);
  const abs = join(d.root, rel);
  const kind = kindAt(d, rel);
  if (kind === 'file') collect(ctx, d, rel);
  else if (kind !== undefined) destroy(ctx, d, rel);
  if (atomic) {
    // An editor's save: a new inode renamed over the old file.
    writeFileSync(`${abs}.~sim`, text);
    utimesSync(`${abs}.~sim`, mtime, mtime);
    renameSync(`${abs}.~sim`, abs);
  } else {
    writeFileSync(abs, text);
    utimesSync(abs, mtime, mtime);
  }
  d.markDirty([...touched, rel]);
}

export function makeSymlink(ctx: UserContext, d: Disk, rel: string, target: string, mtime: Date): void {
  const touched = ensureParents(ctx, d, rel);
  destroy(ctx, d, rel);
  // Dangling on purpose: a target that resolves could make the folder a loop.
  symlinkSync(target, join(d.root, rel));
  lutimesSync(join(d.root, rel), mtime, mtime);
  d.markDirty([...touched, rel]);
}

export function makeDir(ctx: UserContext, d: Disk, rel: string): void {
  const touched = ensureParents(ctx, d, rel);
  if (kindAt(d, rel) === 'dir') return;
  destroy(ctx, d, rel);
  mkdirSync(join(d.root, rel));
  d.markDirty([...touched, rel]);
}

export function remove(ctx: UserContext, d: Disk, rel: string): void {
  destroy(ctx, d, rel);
  d.markDirty([rel]);
}

/** Moves `from` to `to`, which must not exist and must not be inside `from`. */
export function move(ctx: UserContext, d: Disk, from: string, to: string): void {
  if (to === from || to.startsWith(`${from}/`) || kindAt(d, to) !== undefined) throw new Error(`sim: bad move ${from} → ${to}`);
  const touched = ensureParents(ctx, d, to);
  renameSync(join(d.root, from), join(d.root, to));
  if (!ctx.admin) ctx.ledger.removedAt.add(from);
  adopt(ctx, d, to);
  d.markDirty([...touched, from, to]);
}

/** A metadata-only change: same bytes, new mtime. */
export function touch(ctx: UserContext, d: Disk, rel: string, mtime: Date): void {
  adopt(ctx, d, rel);
  lutimesSync(join(d.root, rel), mtime, mtime);
  d.markDirty([rel]);
}
