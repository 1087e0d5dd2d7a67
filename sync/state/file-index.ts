/**
 * The file index of one synced folder: per layer-relative path (`/`-separated, no leading `/`),
 * what the agent knows about that path. Two indexes, kept in separate journals:
 *
 * - `synced` — the synced tree (DESIGN §3), the merge base: the last version of each path this
 *   device agreed with. It must only change once the disk and the bucket both hold that version.
 * - `statcache` — what the last scan saw on disk plus the content key it hashed to, so an
 *   unchanged (size, mtime, mode, ino, ctime) skips re-reading the file, unless the entry is `racy`.
 *   Losing it costs a re-hash only, so it may be deleted and rebuilt at any time; keeping it
 *   apart means a damaged cache never endangers the merge base, and cache churn from scans never
 *   makes the merge base compact.
 */
import { join } from 'node:path';
import { Journal, type JournalOptions } from './journal.js';

export type IndexEntryType = 'file' | 'dir' | 'symlink';

export interface IndexEntry {
  type: IndexEntryType;
  size: number;
  mtimeMs: number;
  mode: number;
  /** Inode number from stat, when the platform has a stable one. */
  ino?: number;
  /**
   * A file's ctime from stat (ms), when known: any write, and any utimes, sets it to the time of
   * the change, so an edit that leaves size and mtime as they were (a tool that sets the mtime
   * back) still shows. Older entries have none.
   */
  ctimeMs?: number;
  /** The file's chunk ids, in order. */
  chunks?: readonly string[];
  /** A symlink's target, as stored in the layer. */
  target?: string;
  /**
   * The mtime was too close to when the entry was read to vouch for the content: a same-size
   * write in the same timestamp tick leaves size and mtime as they were. The next scan that
   * meets the entry reads the file (or lists the dir) again, however its stat looks.
   */
  racy?: true;
}

export type FileIndex = Journal<IndexEntry>;
export type FileIndexName = 'synced' | 'statcache';

const TYPES: ReadonlySet<unknown> = new Set(['file', 'dir', 'symlink']);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isNat = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/**
 * Validates an entry and returns a frozen copy, so that neither a caller holding the original
 * nor a reader of `get()` can change the in-memory index behind the journal's back.
 */
export function checkIndexEntry(value: unknown): IndexEntry {
  if (typeof value !== 'object' || value === null) throw new Error('not an object');
  const v = value as Record<string, unknown>;
  if (!TYPES.has(v.type)) throw new Error(`bad type ${JSON.stringify(v.type)}`);
  if (!isNat(v.size) || !isNum(v.mtimeMs) || !isNat(v.mode)) throw new Error('bad size, mtimeMs or mode');
  const out: IndexEntry = { type: v.type as IndexEntryType, size: v.size, mtimeMs: v.mtimeMs, mode: v.mode };
  if (v.ino !== undefined) {
    if (!isNat(v.ino)) throw new Error('bad ino');
    out.ino = v.ino;
  }
  if (v.ctimeMs !== undefined) {
    if (!isNum(v.ctimeMs)) throw new Error('bad ctimeMs');
    out.ctimeMs = v.ctimeMs;
  }
  // A file's content key is not kept: it follows from the chunk list (plan contentKey). An
  // older journal's `content` field is ignored.
  if (v.chunks !== undefined) {
    if (!Array.isArray(v.chunks) || !v.chunks.every((c) => typeof c === 'string')) throw new Error('bad chunk list');
    out.chunks = Object.freeze([...(v.chunks as string[])]);
  }
  if (v.target !== undefined) {
    if (typeof v.target !== 'string') throw new Error('bad symlink target');
    out.target = v.target;
  }
  if (v.racy !== undefined) {
    if (v.racy !== true) throw new Error('bad racy flag');
    out.racy = true;
  }
  return Object.freeze(out);
}

/** Opens `<dir>/<name>.snapshot` + `<dir>/<name>.journal`; `dir` must exist. */
export function openFileIndex(dir: string, name: FileIndexName, options: Omit<JournalOptions<IndexEntry>, 'validate'> = {}): Promise<FileIndex> {
  return Journal.open(join(dir, name), { ...options, validate: checkIndexEntry });
}
