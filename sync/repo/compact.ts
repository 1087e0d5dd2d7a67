/**
 * Index consolidation, the second half of `strata admin gc`: every changed sync pass writes index
 * objects and every reader lists and reads them all, so gc merges many small indexes into a few
 * consolidated ones (indexfile.ts version 2, naming in `supersedes` the indexes each covers) and,
 * in a later run, deletes the indexes they cover. Readers skip a superseded index (indexload.ts).
 *
 * It runs on what gc's pack phase read: every listed index, superseded ones included. An index
 * `X` is covered when a listed index `S` names it in `supersedes` AND names every pack of X with
 * the same size and every blob entry X gives it (indexCovers: the bucket is untrusted, so a claim
 * alone is never enough). An index no one covers is live.
 *
 * - Writing: when more than `maxLive` indexes are live, the live ones are grouped whole, smallest
 *   first (so full consolidated indexes are not rewritten again and again), into groups of at most
 *   `maxBlobs` blob entries and MAX_SUPERSEDES superseded indexes; each group of two or more becomes
 *   one new index with each pack once, superseding the group's indexes and every listed index
 *   they cover in turn (so that a reader of the new index skips those too). A live index naming a
 *   pack gc did not list is left out: it may be a writer's index about to be withdrawn (writer.ts)
 *   or damage `check` reports, and must not be copied into an index that outlives it.
 * - Deleting, two-phase: an index is deleted only when a live listed index covers it and the
 *   bucket got that index at least `graceMs` ago, and at least `listingLagMs` ago, so that every
 *   reader's listing shows it by then (listings may lag writes: Swift's do; a reader that lists
 *   the deleted index but not its coverer would miss its blobs). The coverers are the ones listed before this run wrote
 *   anything, so an index written now deletes nothing before a later run. A live coverer stays, so
 *   every pack of a deleted index is still named. (No index can supersede itself or be part of a
 *   cycle of claims: an id is the hash of bytes that would have to name it.)
 * - Every new index is PUT before anything is deleted; a dry run writes and deletes nothing and
 *   reports what a real run would do now.
 * - Writers need no lock: an index a writer writes meanwhile is not in any group and stays live.
 *   Two gc runs at once may write two indexes superseding the same ones: both are whole, readers
 *   load both (neither supersedes the other), and they stay live and are merged like any other.
 *
 * Left: an index copied into a consolidated one just before its writer withdraws it (its pack was
 * gone: writer.ts) leaves the consolidated index naming a missing pack; that needs a writer stalled
 * past the grace period and a gc that listed the pack before another gc deleted it. `check` reports
 * it (E_PACK_MISSING).
 */
import { StrataError } from '../errors.js';
import { MAX_SUPERSEDES, coverMap, encodeIndex, indexCovers, type CoverMap, type IndexFile, type IndexedPack } from './indexfile.js';
import { forEachLimit } from './pool.js';
import type { Repository } from './repository.js';

export interface CompactOptions {
  graceMs: number;
  /** How long listings may lag writes (ms, default 0): a coverer younger than this deletes nothing either. */
  listingLagMs?: number;
  dryRun: boolean;
  /** gc's time, ms since the epoch. */
  now: number;
  /** Consolidate only when more indexes than this are live (default 8). */
  maxLive?: number;
  /** Blob entries per consolidated index at most (default 200,000: far below MAX_INDEX_BYTES). */
  maxBlobs?: number;
  concurrency: number;
}

export interface WrittenIndex {
  key: string;
  /** Indexes merged into it (its group), and how many it supersedes in all. */
  merged: number;
  supersedes: number;
  blobs: number;
}

export interface IndexReport {
  /** Index objects gc read. */
  read: number;
  /** Of the listed ones, those no listed index covers, before this run wrote any. */
  live: number;
  /** Consolidated indexes written (a dry run: would be). */
  written: WrittenIndex[];
  /** Covered indexes deleted (a dry run: would be). */
  deleted: string[];
  /** Covered indexes kept because their live coverer is younger than the grace period (or the listing lag). */
  young: string[];
}

export const DEFAULT_MAX_LIVE = 8;
export const DEFAULT_MAX_BLOBS = 200_000;

/** The indexes gc read, by key; `more()` reads those listed since. */
export interface ReadIndexes {
  readonly files: ReadonlyMap<string, IndexFile>;
  more(): Promise<void>;
}

const blobCount = (idx: IndexFile) => idx.packs.reduce((s, p) => s + p.blobs.length, 0);

export async function compactIndexes(repo: Repository, read: ReadIndexes, packsListed: ReadonlySet<string>, opts: CompactOptions): Promise<IndexReport> {
  const maxLive = opts.maxLive ?? DEFAULT_MAX_LIVE;
  const maxBlobs = opts.maxBlobs ?? DEFAULT_MAX_BLOBS;
  if (!Number.isSafeInteger(maxLive) || maxLive < 1) throw new StrataError('E_USAGE', `index limit ${maxLive} is not a whole number ≥ 1`);
  if (!Number.isSafeInteger(maxBlobs) || maxBlobs < 1) throw new StrataError('E_USAGE', `blobs per index ${maxBlobs} is not a whole number ≥ 1`);

  await read.more();
  const modified = new Map<string, number | undefined>();
  for await (const info of repo.store.list('index/')) if (read.files.has(info.key)) modified.set(info.key, info.modified);
  const listed = [...modified.keys()].map((k) => read.files.get(k) as IndexFile);

  // Who covers whom, among the listed indexes. One coverer's entry set at a time (about 200 bytes
  // a blob entry), and lists appended to: a coverer may supersede MAX_SUPERSEDES listed indexes.
  const covers = new Map<string, string[]>();
  const coveredBy = new Map<string, string[]>();
  const append = (m: Map<string, string[]>, key: string, value: string) => {
    const list = m.get(key);
    if (list) list.push(value);
    else m.set(key, [value]);
  };
  for (const s of listed) {
    let map: CoverMap | undefined;
    for (const k of s.supersedes) {
      const x = modified.has(k) ? read.files.get(k) : undefined;
      if (!x || x.key === s.key || !indexCovers((map ??= coverMap(s)), x)) continue;
      append(covers, s.key, k);
      append(coveredBy, k, s.key);
    }
  }
  const live = listed.filter((x) => !coveredBy.has(x.key));
  const report: IndexReport = { read: read.files.size, live: live.length, written: [], deleted: [], young: [] };

  const wait = Math.max(opts.graceMs, opts.listingLagMs ?? 0);
  const old = (key: string) => {
    const m = modified.get(key);
    return m !== undefined && Number.isFinite(m) && opts.now - m >= wait;
  };
  for (const x of listed) {
    const by = (coveredBy.get(x.key) ?? []).filter((s) => !coveredBy.has(s));
    if (by.length === 0) continue;
    (by.some(old) ? report.deleted : report.young).push(x.key);
  }

  const groups = live.length > maxLive ? group(live, packsListed, covers, maxBlobs) : [];
  const writes = groups.map((g) => consolidate(repo, g.members, g.supersedes));
  report.written = writes.map((w) => w.report);
  if (opts.dryRun) return report;
  await forEachLimit(writes, opts.concurrency, (w) => repo.store.put(w.report.key, w.bytes));
  await forEachLimit(report.deleted, opts.concurrency, (key) => repo.store.delete(key));
  return report;
}

interface Group {
  members: IndexFile[];
  supersedes: Set<string>;
  blobs: number;
}

/** Live indexes into groups of two or more, smallest first (see the header). */
function group(live: readonly IndexFile[], packsListed: ReadonlySet<string>, covers: ReadonlyMap<string, string[]>, maxBlobs: number): Group[] {
  const candidates = live
    .filter((x) => x.packs.every((p) => packsListed.has(p.id)))
    .map((x) => ({ x, blobs: blobCount(x), closure: closure(x.key, covers) }))
    .sort((a, b) => a.blobs - b.blobs || (a.x.key < b.x.key ? -1 : 1));
  const groups: Group[] = [];
  let open: Group | undefined;
  for (const c of candidates) {
    if (open && (open.blobs + c.blobs > maxBlobs || open.supersedes.size + c.closure.length > MAX_SUPERSEDES)) {
      groups.push(open);
      open = undefined;
    }
    open ??= { members: [], supersedes: new Set(), blobs: 0 };
    open.members.push(c.x);
    open.blobs += c.blobs;
    for (const k of c.closure) open.supersedes.add(k);
  }
  if (open) groups.push(open);
  return groups.filter((g) => g.members.length > 1);
}

/** `key` and every listed index it covers, and those cover, and so on. */
function closure(key: string, covers: ReadonlyMap<string, string[]>): string[] {
  const out = new Set<string>([key]);
  const todo = [key];
  for (let k = todo.pop(); k !== undefined; k = todo.pop()) {
    for (const c of covers.get(k) ?? []) {
      if (out.has(c)) continue;
      out.add(c);
      todo.push(c);
    }
  }
  return [...out];
}

function consolidate(repo: Repository, members: readonly IndexFile[], supersedes: ReadonlySet<string>): { report: WrittenIndex; bytes: Uint8Array } {
  const packs = new Map<string, IndexedPack>();
  for (const m of members) for (const p of m.packs) if (!packs.has(p.id)) packs.set(p.id, p);
  const list = [...packs.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  const ids = [...supersedes].map((k) => k.slice('index/'.length)).sort();
  const { id, bytes } = encodeIndex(list, repo.format.hash, ids);
  const blobs = list.reduce((s, p) => s + p.blobs.length, 0);
  return { report: { key: `index/${id}`, merged: members.length, supersedes: ids.length, blobs }, bytes };
}
