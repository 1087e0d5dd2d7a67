/**
 * What the watcher compares to decide that a path has stopped changing, and to recognise the
 * engine's own writes (no echo, DESIGN §3). lstat only: a symlink is an entry, never followed.
 */
import { lstat } from 'node:fs/promises';

/**
 * A path's state as the watcher sees it; null when nothing is there. The ctime counts: an edit
 * of the same size whose mtime was set back (touch -r, rsync -t) changes nothing else.
 */
export type Sample = { readonly kind: 'file' | 'dir' | 'symlink' | 'other'; readonly size: number; readonly mtimeMs: number; readonly ctimeMs: number } | null;

/** The stat the engine passes to `suppress`: what it left on disk (its ctime when known), or null for a delete. */
export type WrittenStat = { readonly size: number; readonly mtimeMs: number; readonly ctimeMs?: number } | null;

export async function sample(absPath: string): Promise<Sample> {
  try {
    const st = await lstat(absPath);
    const kind = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
    return { kind, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
  } catch (err) {
    if (isGone(err)) return null;
    // Something is there that no path can reach: reported as it is (the scan says why it skips it).
    if (isTooLong(err)) return TOO_LONG;
    throw err;
  }
}

const TOO_LONG: Sample = { kind: 'other', size: 0, mtimeMs: 0, ctimeMs: 0 };

export function sameSample(a: Sample, b: Sample): boolean {
  if (a === null || b === null) return a === b;
  return a.kind === b.kind && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

export function isGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** A system limit stopped a watch: inotify's watches per user (ENOSPC), open files, memory. */
export function isLimit(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EMFILE' || code === 'ENFILE' || code === 'ENOMEM';
}

/** The path is longer than the OS takes (past PATH_MAX): nothing at it or under it can be named. */
export function isTooLong(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENAMETOOLONG';
}

/** The user may not read the path (its permissions, or the OS's). */
export function isRefused(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'EACCES' || code === 'EPERM';
}

/**
 * How long the engine's write is recognised as its own. Its events come within moments of it (a
 * debounce and a few samples); one reported later costs only a rescan of the path, which the stat
 * cache finds unchanged. Kept for good, the entries would grow with every name the engine ever
 * wrote or deleted.
 */
export const SUPPRESS_MS = 5 * 60_000;

/**
 * Stats the engine wrote itself. An entry stays while the path still matches it (one write can
 * raise several events over several batches), for SUPPRESS_MS at most, and is dropped at the
 * first sample that differs, so the user's next edit is reported.
 */
export class Suppressions {
  /** In the order they were set, so that the expired ones are first. */
  private readonly byPath = new Map<string, { stat: WrittenStat; at: number }>();

  /** `now`: milliseconds on a clock that never goes back. */
  constructor(private readonly now: () => number = () => performance.now()) {}

  set(relPath: string, stat: WrittenStat): void {
    this.expire();
    this.byPath.delete(relPath);
    this.byPath.set(relPath, { stat: stat === null ? null : { size: stat.size, mtimeMs: stat.mtimeMs, ...(stat.ctimeMs !== undefined && { ctimeMs: stat.ctimeMs }) }, at: this.now() });
  }

  /** True when `now` is the engine's own write, so the event must not be reported. */
  matches(relPath: string, now: Sample): boolean {
    this.expire();
    const entry = this.byPath.get(relPath);
    if (entry === undefined) return false;
    const written = entry.stat;
    const same = written === null ? now === null : now !== null && now.size === written.size && now.mtimeMs === written.mtimeMs && (written.ctimeMs === undefined || now.ctimeMs === written.ctimeMs);
    if (!same) this.byPath.delete(relPath);
    return same;
  }

  get size(): number {
    return this.byPath.size;
  }

  private expire(): void {
    const before = this.now() - SUPPRESS_MS;
    for (const [p, e] of this.byPath) {
      if (e.at > before) break;
      this.byPath.delete(p);
    }
  }
}
