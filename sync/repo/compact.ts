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
 * - Writing: when more than `maxLive` indexes are live, the live ones are grouped whole, by size
 *   tiers as an LSM tree's runs are: smallest first, the smallest are merged whatever their sizes
 *   until no more than `maxLive` would be live (as far as the limits below allow); beyond that an
 *   index joins a group only when the group holds at least half as many blob entries as it does,
 *   and starts one only when the next index is at most twice its size. So a large consolidated
 *   index stays as it is while the indexes written since add up to less than half of it, and a
 *   tier's merge rewrites an entry only into an index at least 1.5 times the one it was in: each
 *   entry is rewritten a few times in all (log base 1.5 of its index's final size, and what
 *   keeping within `maxLive` takes, the smallest indexes), not at every run, nor fetched again by
 *   every reader at every run. Groups hold at most `maxBlobs` blob entries and
 *   MAX_SUPERSEDES superseded indexes; each group of two or more becomes one new index with each
 *   pack once (with every blob entry any member gives it at that size), superseding the group's indexes and every listed index they cover in turn (so that
 *   a reader of the new index skips those too). A live index naming a pack gc did not list is left
 *   out: it may be a writer's index about to be withdrawn (writer.ts) or damage `check` reports,
 *   and must not be copied into an index that outlives it.
 * - No consolidated index is left naming a pack that is gone: its readers would resolve those blobs
 *   to that pack (a restore fails E_PACK_MISSING even where the blobs were uploaded again) and
 *   writers would deduplicate against it, and no writer withdraws it. A writer withdraws its index
 *   when it finds a pack of it deleted by a gc that did not see the index (writer.ts), so deleted
 *   before the index was written: had the index been listed at that gc's look after its delete,
 *   the pack would have been put back (gc.ts). So after reading the indexes gc looks at every pack
 *   of a group (HEAD: its listing came first, and may lag) and leaves out a member naming one gone
 *   (or at a size it does not have: each member's sizes are looked at, not one per pack).
 *   It looks again once the new index is written: a pack gone since was deleted by a gc whose look
 *   came before the write (one named by no index then, such as a withdrawn one's), and the index is
 *   replaced by one without the packs gone, superseding only the members that name none of them,
 *   and deleted (the replacement is written first: the indexes it covers may be gone by then).
 *   A look after that fails withdraws the index (whether a pack went is unknown), as a writer does.
 *   One of the two gcs sees the other's write, as a writer and gc do. So once gc is done, every
 *   pack an index it wrote names was stored when it looked, with that index written already, and
 *   stays: no gc deletes a pack a listed index names.
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
 * Left: gc killed between a write and its look after it, or unable to withdraw an index it could
 * not look at. And a reader that loaded an index before it was withdrawn (a writer's, or one gc
 * replaced) keeps its locations until it restarts, as it does a writer's withdrawn index. `check`
 * reports an index naming a missing pack (E_PACK_MISSING).
 */
import { StrataError } from '../errors.js';
import type { HeldIndex } from './heldindex.js';
import { MAX_SUPERSEDES, coverMap, encodeIndex, entryKey, indexCovers, type CoverMap, type IndexedPack } from './indexfile.js';
import type { PackEntry } from './pack.js';
import { forEachLimit } from './pool.js';
import type { Repository } from './repository.js';
import { keys } from './types.js';

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

/** The indexes gc read, by key, each held compact (heldindex.ts); `more()` reads those listed since. */
export interface ReadIndexes {
  readonly files: ReadonlyMap<string, HeldIndex>;
  more(): Promise<void>;
}

export async function compactIndexes(repo: Repository, read: ReadIndexes, packsListed: ReadonlySet<string>, opts: CompactOptions): Promise<IndexReport> {
  const maxLive = opts.maxLive ?? DEFAULT_MAX_LIVE;
  const maxBlobs = opts.maxBlobs ?? DEFAULT_MAX_BLOBS;
  if (!Number.isSafeInteger(maxLive) || maxLive < 1) throw new StrataError('E_USAGE', `index limit ${maxLive} is not a whole number ≥ 1`);
  if (!Number.isSafeInteger(maxBlobs) || maxBlobs < 1) throw new StrataError('E_USAGE', `blobs per index ${maxBlobs} is not a whole number ≥ 1`);

  await read.more();
  const modified = new Map<string, number | undefined>();
  for await (const info of repo.store.list('index/')) if (read.files.has(info.key)) modified.set(info.key, info.modified);
  const listed = [...modified.keys()].map((k) => read.files.get(k) as HeldIndex);

  // Who covers whom, among the listed indexes. One coverer's entry set at a time (about 200 bytes
  // a blob entry) and one index it supersedes decoded, and lists appended to: a coverer may
  // supersede MAX_SUPERSEDES listed indexes.
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
      if (!x || x.key === s.key || !indexCovers((map ??= coverMap(s.decoded())), x.decoded())) continue;
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

  const groups = live.length > maxLive ? group(live, packsListed, covers, live.length - maxLive, maxBlobs) : [];
  // A member naming a pack that is gone now (its writer is about to withdraw it) is left out.
  const planned: HeldIndex[][] = [];
  for (const g of groups) {
    const gone = await packsGone(repo, g, opts.concurrency);
    const members = g.filter((m) => m.packs.every((p) => !gone.has(sized(p))));
    if (members.length > 1) planned.push(members);
  }
  if (opts.dryRun) {
    report.written = planned.map((members) => consolidate(repo, members, covers).report);
    return report;
  }
  for (const members of planned) {
    const written = await writeChecked(repo, members, covers, opts.concurrency);
    if (written) report.written.push(written);
  }
  await forEachLimit(report.deleted, opts.concurrency, (key) => repo.store.delete(key));
  return report;
}

/** A pack as an index names it: its id at the size the index gives. */
const sized = (p: { id: string; size: number }) => `${p.id} ${p.size}`;

/**
 * The packs of `indexes` (`sized`) the store does not hold at the size they give (by HEAD: a
 * listing may lag). Each size an index gives is looked at: one index naming a pack at a size it
 * does not have must not pass because another names it at its size.
 */
async function packsGone(repo: Repository, indexes: readonly { packs: readonly { id: string; size: number }[] }[], concurrency: number): Promise<Set<string>> {
  const sizes = new Map<string, Set<number>>();
  for (const x of indexes) {
    for (const p of x.packs) {
      const named = sizes.get(p.id);
      if (named) named.add(p.size);
      else sizes.set(p.id, new Set([p.size]));
    }
  }
  const gone = new Set<string>();
  await forEachLimit([...sizes], concurrency, async ([id, named]) => {
    const stored = (await repo.store.head(keys.pack(id)))?.size;
    for (const size of named) if (size !== stored) gone.add(sized({ id, size }));
  });
  return gone;
}

/**
 * Writes the consolidated index of `members`, then looks at its packs again (see the header): while
 * one is gone, it is replaced by one without the packs gone, superseding only the members that
 * name none of them, and deleted. Undefined when no pack is left to name.
 */
async function writeChecked(repo: Repository, members: readonly HeldIndex[], covers: ReadonlyMap<string, string[]>, concurrency: number): Promise<WrittenIndex | undefined> {
  const gone = new Set<string>();
  let previous: string | undefined;
  for (;;) {
    const w = consolidate(repo, members, covers, gone);
    if (w.packs.length > 0) await repo.store.put(w.report.key, w.bytes);
    if (previous !== undefined) await repo.store.delete(previous);
    if (w.packs.length === 0) return undefined;
    const lost = await lookAfter(repo, w.report.key, w.packs, concurrency);
    if (lost.size === 0) return w.report;
    for (const p of lost) gone.add(p);
    previous = w.report.key;
  }
}

/**
 * The look after a write (writeChecked). One that fails leaves it unknown whether a pack went, so
 * the index is withdrawn before the failure is passed on, as a writer withdraws its own (writer.ts).
 */
async function lookAfter(repo: Repository, key: string, packs: readonly IndexedPack[], concurrency: number): Promise<Set<string>> {
  try {
    return await packsGone(repo, [{ packs }], concurrency);
  } catch (err) {
    await repo.store.delete(key).catch((e: unknown) => {
      const code = e instanceof StrataError ? e.code : 'E_PERMANENT';
      throw new StrataError(code, `could not look at the packs of the index gc wrote (${String(err)}) nor withdraw it (${String(e)}): it may name a pack gone (strata check reports it)`, { key }, { cause: e });
    });
    throw err;
  }
}

/** Live indexes into groups of two or more, by the header's size tiers. */
function group(live: readonly HeldIndex[], packsListed: ReadonlySet<string>, covers: ReadonlyMap<string, string[]>, excess: number, maxBlobs: number): HeldIndex[][] {
  const candidates = live
    .filter((x) => x.packs.every((p) => packsListed.has(p.id)))
    .map((x) => ({ x, blobs: x.blobs, closure: closure(x.key, covers) }))
    .sort((a, b) => a.blobs - b.blobs || (a.x.key < b.x.key ? -1 : 1));
  const groups: HeldIndex[][] = [];
  let open: { members: HeldIndex[]; supersedes: Set<string>; blobs: number } | undefined;
  // How many fewer indexes are live once the closed groups are written.
  let fewer = 0;
  const close = () => {
    if (open && open.members.length > 1) {
      groups.push(open.members);
      fewer += open.members.length - 1;
    }
    open = undefined;
  };
  candidates.forEach((c, i) => {
    if (open && (open.blobs + c.blobs > maxBlobs || open.supersedes.size + c.closure.length > MAX_SUPERSEDES)) close();
    const forced = fewer + (open ? open.members.length - 1 : 0) < excess;
    if (open && !forced && c.blobs > 2 * open.blobs) close();
    const next = candidates[i + 1];
    if (!open && !forced && !(next && next.blobs <= 2 * c.blobs)) return;
    open ??= { members: [], supersedes: new Set(), blobs: 0 };
    open.members.push(c.x);
    open.blobs += c.blobs;
    for (const k of c.closure) open.supersedes.add(k);
  });
  close();
  return groups;
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

/**
 * One index with each pack of `members` once, but those `gone`, superseding the members that name
 * none of those and every listed index they cover in turn.
 */
function consolidate(repo: Repository, members: readonly HeldIndex[], covers: ReadonlyMap<string, string[]>, gone: ReadonlySet<string> = new Set()): { report: WrittenIndex; bytes: Uint8Array; packs: IndexedPack[] } {
  // A pack named more than once (by two members, or twice by one) gets every entry of each: the
  // new index supersedes them all, so readers skip them.
  const packs = new Map<string, MergedPack>();
  for (const m of members) {
    m.packs.forEach((p, i) => {
      const at = sized(p);
      if (gone.has(at)) return;
      const merged = packs.get(at);
      if (merged) addEntries(merged, m.pack(i).blobs);
      else packs.set(at, { pack: m.pack(i) });
    });
  }
  const list = [...packs.values()].map((m) => m.pack).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.size - b.size));
  const superseded = new Set<string>();
  for (const m of members) if (m.packs.every((p) => !gone.has(sized(p)))) for (const k of closure(m.key, covers)) superseded.add(k);
  const ids = [...superseded].map((k) => k.slice('index/'.length)).sort();
  const { id, bytes } = encodeIndex(list, repo.format.hash, ids);
  const blobs = list.reduce((s, p) => s + p.blobs.length, 0);
  return { report: { key: `index/${id}`, merged: members.length, supersedes: ids.length, blobs }, bytes, packs: list };
}

interface MergedPack {
  pack: IndexedPack;
  /** Its entries (entryKey), once a second listing of the pack came. */
  entries?: Set<string>;
}

/** Adds to `merged` the entries of another listing of its pack that it lacks. */
function addEntries(merged: MergedPack, more: readonly PackEntry[]): void {
  const entries = (merged.entries ??= new Set(merged.pack.blobs.map(entryKey)));
  for (const b of more) {
    const k = entryKey(b);
    if (entries.has(k)) continue;
    entries.add(k);
    merged.pack.blobs.push(b);
  }
}
