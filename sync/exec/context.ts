/**
 * State shared by the ops of one executor run: the root, the caller's hooks,
 * directories whose entries changed and still need an fsync, and dir modes set at the end.
 */
import type { Stats } from 'node:fs';
import { chmod, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { FileNode, Node } from '../plan/index.js';
import { MODE_MASK } from '../restore/assembly.js';
import { fsyncDir } from '../fsutil.js';
import { absPath, badAncestor, badAncestorNow, describeStat, lstatOrNull, lstatOrNullNow, matches } from './check.js';

/**
 * Writes the bytes of `node` into `dest` (an empty temp file opened for writing) from offset 0.
 * `old`: the file the write replaces, as the executor just checked it at its absolute `path` (its
 * chunks may be taken from there, each verified against its id: the file can change meanwhile).
 * `seed`: the temp a killed run left filling `node` (its absolute `path`), whose chunks sit at their
 * offsets in it where they were written at all: to be taken from the same way.
 */
export type FetchFn = (node: FileNode, dest: FileHandle, destPath: string, old?: { path: string; node: FileNode }, seed?: { path: string; node: FileNode }) => Promise<void>;

/**
 * A temp file a killed run left while it wrote `node` to `path` (both layer-relative), whose writer
 * is gone: recover() keeps it for the next run (ExecuteOptions.seeds) to take chunks from.
 */
export interface Seed {
  path: string;
  tmp: string;
  node: FileNode;
}

/** The final stat of a path the executor wrote (null: it removed the path). */
export type SuppressFn = (relPath: string, stat: { size: number; mtimeMs: number; ctimeMs: number } | null) => void;

/**
 * The ctime the scan saw at `rel` when it found `expect` there, if known. A same-size edit whose
 * mtime was set back (touch -r, rsync -t) leaves size, mtime and mode as they were, but no process
 * can set the ctime back.
 */
export type ScannedCtime = (rel: string, expect: FileNode) => number | undefined;

/** An op whose target (or source) is not in the expected state: it was not applied. */
export class TargetChanged extends Error {
  constructor(
    readonly path: string,
    readonly found: string,
  ) {
    super(`${path} changed since it was scanned (found ${found})`);
  }
}

/** Dirs pending an fsync are flushed at the latest after this many. */
const DIR_BATCH = 64;

export class ExecContext {
  private readonly dirtyDirs = new Set<string>();
  /** dir rel path → mode it must end with (modes that would keep the executor out) */
  private readonly finalModes = new Map<string, number>();
  /** rel path → the ctime this run left there (undefined: it removed the path); the scan's no longer counts. */
  private readonly left = new Map<string, number | undefined>();

  /** target rel path → the seed kept for its write (ExecuteOptions.seeds) */
  readonly seeds = new Map<string, Seed>();

  constructor(
    readonly root: string,
    readonly fetch: FetchFn,
    private readonly suppressFn: SuppressFn | undefined,
    private readonly scannedCtime?: ScannedCtime,
  ) {}

  /** The ctime a file at `rel` must have to be `expect`: the one this run left there, else the scan's; undefined when not known. */
  private ctimeFor(rel: string, expect: Node | null): number | undefined {
    if (expect?.type !== 'file') return undefined;
    return this.left.has(rel) ? this.left.get(rel) : this.scannedCtime?.(rel, expect);
  }

  abs(rel: string): string {
    return absPath(this.root, rel);
  }

  /**
   * Throws TargetChanged unless `rel` sits under real dirs and is in the `expect` state; `self`
   * is a move's source stat (see matches).
   */
  async check(rel: string, expect: Node | null, self?: Stats | null): Promise<Stats | null> {
    const bad = await badAncestor(this.root, rel);
    if (bad !== undefined) throw new TargetChanged(bad, `${describeStat(await lstatOrNull(this.abs(bad)))} where a dir was expected`);
    const abs = this.abs(rel);
    const st = await lstatOrNull(abs);
    if (!matches(abs, st, expect, self, this.ctimeFor(rel, expect))) throw new TargetChanged(rel, describeStat(st));
    return st;
  }

  /**
   * check with synchronous calls, for a batch's writes (before each temp is filled, and in the
   * commit: there each op is an lstat per ancestor, one of the target, a rename and the lstat for
   * suppress): local calls that a round trip through the thread pool each would make several times
   * slower (more on a busy machine). Nothing is cached: every ancestor is lstat'ed again for every
   * check.
   */
  checkNow(rel: string, expect: Node | null): void {
    const bad = badAncestorNow(this.root, rel);
    if (bad !== undefined) throw new TargetChanged(bad, `${describeStat(lstatOrNullNow(this.abs(bad)))} where a dir was expected`);
    const abs = this.abs(rel);
    const st = lstatOrNullNow(abs);
    if (!matches(abs, st, expect, undefined, this.ctimeFor(rel, expect))) throw new TargetChanged(rel, describeStat(st));
  }

  /** The entries of the dir holding `abs` changed. */
  async touched(abs: string): Promise<void> {
    this.dirtyDirs.add(dirname(abs));
    if (this.dirtyDirs.size >= DIR_BATCH) await this.flushDirs();
  }

  /** Makes every rename, create and delete so far durable (before destroying anything). */
  async flushDirs(): Promise<void> {
    const dirs = [...this.dirtyDirs];
    this.dirtyDirs.clear();
    for (const d of dirs) await fsyncDir(d);
  }

  /** Sets a dir's mode, keeping it owner-writable until the end of the run when the mode would not be. */
  async setDirMode(rel: string, mode: number): Promise<void> {
    const now = (mode & 0o700) === 0o700 ? mode : mode | 0o700;
    await chmod(this.abs(rel), now & MODE_MASK);
    if (now !== mode) this.finalModes.set(rel, mode);
    else this.finalModes.delete(rel);
  }

  forgetDir(rel: string): void {
    for (const k of this.finalModes.keys()) if (k === rel || k.startsWith(`${rel}/`)) this.finalModes.delete(k);
  }

  /** Deferred dir modes, deepest first, then the pending dir fsyncs. */
  async finish(): Promise<void> {
    const dirs = [...this.finalModes].sort(([a], [b]) => b.split('/').length - a.split('/').length);
    for (const [rel, mode] of dirs) {
      const st = await lstatOrNull(this.abs(rel));
      if (st?.isDirectory()) await chmod(this.abs(rel), mode & MODE_MASK);
    }
    this.finalModes.clear();
    await this.flushDirs();
  }

  /**
   * Tells suppress the final stat of `rel` (a synchronous lstat, as in checkNow), and keeps the
   * ctime it left there for a later check of `rel` in this run (ctimeFor); returns that ctime.
   */
  suppress(rel: string, gone = false): number | undefined {
    if (this.suppressFn === undefined && this.scannedCtime === undefined) return undefined;
    // Already gone again (the user was quick): the watcher will see that removal, not our write.
    const st = gone ? null : lstatOrNullNow(this.abs(rel));
    this.left.set(rel, st?.ctimeMs);
    this.suppressFn?.(rel, st === null ? null : { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs });
    return st?.ctimeMs;
  }
}
