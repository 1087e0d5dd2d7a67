/**
 * Garbage collection of unindexed packs: the packs a writer leaves when it stops (crashes, is
 * killed, loses its network) after uploading them and before writing the index that names them
 * (DESIGN §2: "a crash at any point leaves at worst unreferenced packs").
 *
 * Only packs that NO index names are ever deleted. A pack some index names stays even when no
 * snapshot references its blobs any more: removing those needs a mark-and-sweep from every
 * snapshot and indexes rewritten without them, which this does not do.
 *
 * Why no lock is needed: writers deduplicate only against blobs they find through indexes (and
 * their own session's packs), so a pack in no index is invisible to every writer but the one
 * that uploaded it. That one checks that its packs are still stored just before it writes the
 * index naming them and again just after (writer.ts), and fails cleanly, withdrawing the index
 * and uploading the blobs again, when one is gone. The grace period keeps gc away from writers
 * still at work: a pack is deleted only once the bucket's own modified time for it is at least
 * `graceMs` before gc's clock.
 *
 * The writer's checks leave one race: its check after the index write done just before gc's
 * delete, and the index written just after gc's last look at the indexes before it. So gc keeps
 * the bytes of the packs it deletes until it has looked at the indexes again, and puts back any
 * pack that an index written meanwhile names. One of the two sides always sees the other, so an
 * index never names a pack gc deleted once both are done, as long as gc's look comes at least
 * `listingLagMs` after its deletes: a listing may lag the writes it reports (OpenStack Swift's
 * container listings are updated after the write, asynchronously when a container server is
 * busy), and the index the writer wrote before gc's delete is listed only once that lag has
 * passed. AWS S3, MinIO and memory list every write that finished: their lag is 0. Left: gc killed
 * between a delete and that look, in that race, or a listing that lags longer than `listingLagMs`.
 *
 * What must hold:
 * - Only keys that are exactly `data/<id[0:2]>/<id>` are ever deleted; anything else listed under
 *   `data/` is untrusted and left alone (reported in `ignored`).
 * - A pack whose age the store cannot tell is kept.
 * - If any index cannot be read or validated, nothing is deleted: what it names is unknown.
 * - The time is taken before anything is listed, and indexes are listed after packs, again just
 *   before the deletes (an index written meanwhile saves its packs) and once more, `listingLagMs`
 *   after each batch of deletes, whose packs (a delete that failed included: it may have happened) are put back
 *   if an index names them or gc fails before it looked.
 * - A dry run deletes nothing and reports exactly what a real run would delete then.
 *
 * After the packs, gc consolidates the indexes and deletes those a consolidated index written in
 * an earlier run covers (compact.ts), on the indexes this run read: nothing if one was unreadable.
 * A consolidated index is written as a writer's is, with a look at its packs before and after, so
 * the look after each batch of deletes protects its packs too.
 */
import { StrataError, isStrataError } from '../errors.js';
import { compactIndexes, type IndexReport } from './compact.js';
import { HeldIndex } from './heldindex.js';
import { loadIndexes } from './indexload.js';
import { MAX_BLOB_BYTES } from './pack.js';
import { forEachLimit } from './pool.js';
import type { Repository } from './repository.js';

export interface GcOptions {
  /** A pack in no index is deleted once it is at least this old (ms, by the bucket's modified time). */
  graceMs: number;
  /** Report only; delete nothing. */
  dryRun: boolean;
  /** gc's clock, ms since the epoch (default: the system clock). */
  now?: () => number;
  /** Requests in flight (default 8). */
  concurrency?: number;
  /** How long the store's listings may lag its writes (ms, default 0); gc waits that long after each batch of deletes before it looks at the indexes again. */
  listingLagMs?: number;
  /** Waits `ms` (default: a timer); for tests. */
  sleep?: (ms: number) => Promise<void>;
  /** Index consolidation (compact.ts): consolidate when more indexes than this are live (default 8). */
  maxLiveIndexes?: number;
  /** Blob entries per consolidated index at most (default 200,000). */
  maxIndexBlobs?: number;
}

export interface GcPack {
  key: string;
  size: number;
  /** The bucket's modified time (ms since the epoch). */
  modified: number;
}

export interface GcReport {
  dryRun: boolean;
  /** Packs listed under data/. */
  packs: number;
  /** Of those, the packs some index names: never deleted. */
  indexed: number;
  /** Packs in no index past the grace period: deleted (a dry run: would be). */
  removed: GcPack[];
  /** Packs in no index within the grace period (a writer may still be about to index them): kept. */
  young: GcPack[];
  /** Packs in no index that gc leaves alone all the same: the store gave no time, or too large to be a pack. */
  unsure: string[];
  /** Keys under data/ that are not pack keys: never touched. */
  ignored: string[];
  /** Packs deleted, then put back because an index written meanwhile names them. */
  restored: GcPack[];
  /** Index consolidation, after the packs (compact.ts). */
  indexes: IndexReport;
}

const PACK_KEY = /^data\/([0-9a-f]{2})\/([0-9a-f]{64})$/;

/** The pack id of a well-formed pack key (its directory the id's first two digits), else undefined. */
export function packIdOfKey(key: string): string | undefined {
  const m = PACK_KEY.exec(key);
  return m && m[2]?.startsWith(m[1] ?? '') ? m[2] : undefined;
}

/**
 * Index keys already read, the packs they name, and the indexes themselves, held compact
 * (heldindex.ts) since gc holds all of them at once; `more` reads the indexes written since. gc
 * reads superseded indexes too: it must, to delete them (compact.ts), and so which packs it keeps
 * never rests on what a consolidated index claims. One gone since the listing is no error when a
 * loaded index supersedes it: a gc deleted it, after seeing that index name all of its packs.
 */
class IndexedPacks {
  readonly seen = new Set<string>();
  readonly packs = new Map<string, string>();
  readonly files = new Map<string, HeldIndex>();
  private superseded = new Set<string>();

  constructor(private readonly repo: Repository, private readonly concurrency: number) {}

  async more(): Promise<void> {
    const opts = { skip: this.seen, readSuperseded: true, superseded: this.superseded };
    const indexes: HeldIndex[] = [];
    const { errors, superseded } = await loadIndexes(this.repo.store, this.repo.format.hash, this.concurrency, (idx) => indexes.push(new HeldIndex(idx)), opts);
    const bad = errors[0];
    if (bad) {
      throw new StrataError('E_GC_UNSAFE', `index cannot be read (${bad.code}: ${bad.message}), so which packs it names is unknown and gc stops (strata check reports it)`, { key: bad.key });
    }
    this.superseded = new Set(superseded);
    for (const idx of indexes) {
      this.seen.add(idx.key);
      this.files.set(idx.key, idx);
      for (const p of idx.packs) if (!this.packs.has(p.id)) this.packs.set(p.id, idx.key);
    }
  }
}

export async function collectGarbage(repo: Repository, opts: GcOptions): Promise<GcReport> {
  if (!Number.isSafeInteger(opts.graceMs) || opts.graceMs < 0) throw new StrataError('E_USAGE', `grace period ${opts.graceMs} ms is not a whole number of ms ≥ 0`);
  const concurrency = opts.concurrency ?? 8;
  const now = (opts.now ?? Date.now)();
  const report: GcReport = {
    dryRun: opts.dryRun,
    packs: 0,
    indexed: 0,
    removed: [],
    young: [],
    unsure: [],
    ignored: [],
    restored: [],
    indexes: { read: 0, live: 0, written: [], deleted: [], young: [] },
  };
  // A pack is sealed once it reaches packSize, so it is at most that, one blob and a trailer.
  const maxPack = 2 * (repo.format.packSize + MAX_BLOB_BYTES);

  const listed: { key: string; size: number; modified: number | undefined }[] = [];
  for await (const { key, size, modified } of repo.store.list('data/')) {
    if (packIdOfKey(key) === undefined) report.ignored.push(key);
    else listed.push({ key, size, modified });
  }
  report.packs = listed.length;

  const indexed = new IndexedPacks(repo, concurrency);
  await indexed.more();
  const named = (key: string) => indexed.packs.has(packIdOfKey(key) as string);
  const doomed: GcPack[] = [];
  for (const { key, size, modified } of listed) {
    if (named(key)) report.indexed++;
    else if (modified === undefined || !Number.isFinite(modified) || size > maxPack) report.unsure.push(key);
    else if (now - modified >= opts.graceMs) doomed.push({ key, size, modified });
    else report.young.push({ key, size, modified });
  }
  if (opts.dryRun || doomed.length === 0) report.removed = doomed;
  else await removePacks(repo, indexed, doomed, opts, concurrency, report);
  const packsListed = new Set(listed.map((p) => packIdOfKey(p.key) as string));
  const compact = { graceMs: opts.graceMs, listingLagMs: opts.listingLagMs, dryRun: opts.dryRun, now, maxLive: opts.maxLiveIndexes, maxBlobs: opts.maxIndexBlobs, concurrency };
  report.indexes = await compactIndexes(repo, indexed, packsListed, compact);
  return report;
}

async function removePacks(repo: Repository, indexed: IndexedPacks, listedDoomed: GcPack[], opts: GcOptions, concurrency: number, report: GcReport): Promise<void> {
  // An index written while the packs were being looked at saves the packs it names.
  await indexed.more();
  let doomed = listedDoomed;
  doomed = doomed.filter((p) => !indexed.packs.has(packIdOfKey(p.key) as string));
  const lag = opts.listingLagMs ?? 0;
  if (!Number.isSafeInteger(lag) || lag < 0) throw new StrataError('E_USAGE', `listing lag ${lag} ms is not a whole number of ms ≥ 0`);
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const settle = () => (lag > 0 ? sleep(lag) : Promise.resolve());
  for (let i = 0; i < doomed.length; i += HELD_PACKS) await removeHeld(repo, indexed, doomed.slice(i, i + HELD_PACKS), concurrency, settle, report);
}

/** Packs held in memory at once, each kept until the indexes were looked at after its delete. */
const HELD_PACKS = 8;

/**
 * Deletes `batch`, keeping their bytes until the indexes were looked at again: one that an index
 * written meanwhile names (the race of the header) is put back, and so is every one deleted when
 * gc fails before it could look.
 */
async function removeHeld(repo: Repository, indexed: IndexedPacks, batch: readonly GcPack[], concurrency: number, settle: () => Promise<void>, report: GcReport): Promise<void> {
  const held = new Map<GcPack, Uint8Array>();
  let failure: { err: unknown } | undefined;
  try {
    await forEachLimit(batch, concurrency, async (p) => {
      const bytes = await repo.store.get(p.key).catch((err: unknown) => {
        if (isStrataError(err, 'E_NOT_FOUND')) return undefined; // gone already (another gc)
        throw err;
      });
      if (!bytes) return;
      // Held before the delete: one that fails may still have deleted the pack.
      held.set(p, bytes);
      await repo.store.delete(p.key);
    });
    // An index written before a delete may not be listed yet (see the header).
    await settle();
    await indexed.more();
  } catch (err) {
    failure = { err };
  }
  // Every put-back is tried, whatever one of them meets: each may be a pack an index names.
  const notBack: { key: string; err: unknown }[] = [];
  for (const [p, bytes] of held) {
    if (failure === undefined && !indexed.packs.has(packIdOfKey(p.key) as string)) {
      report.removed.push(p);
      continue;
    }
    try {
      await repo.store.put(p.key, bytes);
    } catch (err) {
      notBack.push({ key: p.key, err });
      continue;
    }
    if (failure === undefined) report.restored.push(p);
  }
  const lost = notBack[0];
  if (lost) {
    const packs = notBack.length === 1 ? '1 pack' : `${notBack.length} packs`;
    const err = new StrataError(codeOf(lost.err), `could not put back ${packs} it deleted, which an index may name (strata check reports it): ${String(lost.err)}`, { key: lost.key }, { cause: lost.err });
    throw incomplete(report, err);
  }
  if (failure) throw incomplete(report, failure.err);
}

const codeOf = (err: unknown) => (err instanceof StrataError ? err.code : 'E_PERMANENT');

function incomplete(report: GcReport, err: unknown): StrataError {
  const bytes = report.removed.reduce((s, p) => s + p.size, 0);
  const key = err instanceof StrataError ? err.key : undefined;
  return new StrataError(codeOf(err), `gc stopped after removing ${report.removed.length} unindexed packs (${bytes} bytes): ${String(err)}`, { key }, { cause: err });
}
