/**
 * The snapshot graph of one layer: every snapshot names its parents (its device's previous one and
 * the heads it merged), so the common ancestor of two heads is the merge base (DESIGN §3, the
 * `synced` tree of the three-tree model).
 *
 * Must hold: mergeBase returns a true common ancestor or none, never a snapshot that only one side
 * descends from — a base that is too new would turn the other side's changes into silent reverts.
 * A base older than the best one brings back what the newer one's side deleted: so the result is
 * a best common ancestor (none descends from it) whatever the devices' clocks say.
 *
 * A parent that is gone ends its branch of a walk: `admin forget` deletes only history below what
 * every merge between the heads needs (repo/forget-plan.ts). Where a merge meets one all the same
 * (a head written long after the forget, from a pass that read its parents before), it finds an
 * older base or none: what a side deleted may come back, and differing versions are both kept,
 * but nothing is lost.
 *
 * A walk reads each snapshot it meets, one at a time: a long one (a machine whose own head is
 * hundreds of snapshots old) would cost a round trip each. With `bulk`, after BULK_AFTER single
 * reads in one walk, the graph reads every snapshot written since a little before the walk's
 * oldest point at once (SnapshotBulk), in windows that double until the walk ends. Only what is
 * read changes, not what the walk concludes.
 *
 * What is read is kept for the next walks, which mostly meet the same recent snapshots; `prune`
 * bounds it (SNAPSHOTS_KEPT), or an agent running for weeks would hold the layer's whole history.
 */
import { isStrataError } from '../errors.js';
import { timeAfterParents, type Repository } from '../repo/index.js';
import { keys, type Snapshot, type SnapshotId } from '../repo/types.js';

const MINE = 1;
const THEIRS = 2;
const BOTH = MINE | THEIRS;
/** Below a common ancestor found: no better one is there. */
const STALE = 4;
/** Steps mergeBase walks on only to tell which of two common ancestors is below the other. */
const EXTRA_STEPS = 256;
/** Single reads before a bulk read. */
export const BULK_AFTER = 16;
const HOUR = 3_600_000;
/** Bulk reads in one walk at most: the window has doubled past any history by then. */
const MAX_WINDOWS = 24;
/** Snapshots a graph keeps after a prune, besides those used since the one before (a few hundred bytes each). */
export const SNAPSHOTS_KEPT = 1024;

/** Snapshots written at or after `since` (ms, the store's clock) that `skip` does not name. */
export type BulkRead = (since: number, skip: (id: SnapshotId) => boolean) => Promise<{ id: SnapshotId; snapshot: Snapshot }[]>;

export class SnapshotGraph {
  private readonly cache = new Map<SnapshotId, Snapshot>();
  /** Snapshots asked for (get) or added since the last prune. */
  private used = new Set<SnapshotId>();
  /** Snapshots read one at a time, ever. */
  private singles = 0;

  constructor(
    private readonly load: (id: SnapshotId) => Promise<Snapshot>,
    private readonly bulk?: BulkRead,
    /** The key of snapshot `id`, for errors about what it names. */
    readonly keyOf?: (id: SnapshotId) => string,
    /** Snapshots kept after a prune besides the used ones. */
    private readonly kept = SNAPSHOTS_KEPT,
  ) {}

  async get(id: SnapshotId): Promise<Snapshot> {
    this.used.add(id);
    let s = this.cache.get(id);
    if (s === undefined) {
      s = await this.load(id);
      this.cache.set(id, s);
      this.singles++;
    }
    return s;
  }

  /**
   * Reads those of `ids` not read yet, `concurrency` at a time. A pass about to merge many heads
   * (every VDI session is a device of its own) reads their snapshots together instead of one round
   * trip each in turn. A snapshot that fails to read is left for `get` to report.
   */
  async prefetch(ids: readonly SnapshotId[], concurrency = 8): Promise<void> {
    const todo = [...new Set(ids)].filter((id) => !this.cache.has(id));
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < todo.length) await this.get(todo[next++] as SnapshotId).catch(() => undefined);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, todo.length) }, worker));
  }

  /**
   * A parent snapshot, or undefined when it is gone: `admin forget` deletes the history below what
   * every merge between heads needs (repo/forget-plan.ts), so a walk that meets a parent no longer
   * there has reached the end of the history it needs. Any other failure is the walk's.
   */
  private async parent(id: SnapshotId): Promise<Snapshot | undefined> {
    try {
      return await this.get(id);
    } catch (err) {
      if (isStrataError(err, 'E_SNAPSHOT_NOT_FOUND')) return undefined;
      throw err;
    }
  }

  /** A snapshot this device just wrote: no need to read it back. */
  add(id: SnapshotId, s: Snapshot): void {
    this.used.add(id);
    this.cache.set(id, s);
  }

  /**
   * Drops the oldest snapshots not used since the last prune until `kept` are left: a walk that
   * reaches one dropped reads it again. Call between passes; what a pass used stays whatever its number.
   */
  prune(): void {
    if (this.cache.size > this.kept) {
      const unused = [...this.cache].filter(([id]) => !this.used.has(id)).sort(([, a], [, b]) => Date.parse(a.time) - Date.parse(b.time));
      for (const [id] of unused.slice(0, this.cache.size - this.kept)) this.cache.delete(id);
    }
    this.used = new Set();
  }

  /** Snapshots this graph has read (each one is one GET the first time). */
  get loaded(): number {
    return this.cache.size;
  }

  /**
   * The newest snapshot that is an ancestor (or equal) of one of `mine` and of `theirs`, and that
   * no other common ancestor descends from. When it is `theirs` itself, everything `theirs` holds
   * is merged already.
   *
   * The walk takes the newest snapshot first, but does not trust the clocks for the answer: a
   * device whose clock ran behind writes snapshots older than their parents, and a walk stopping
   * at the first common ancestor it meets would then return one that is older than the best (the
   * merge would take a delete and a re-add on the two sides for a conflict, and bring a deleted
   * file back). So, as git's merge-base does, a common ancestor found marks everything below it
   * stale; the walk goes on while anything not stale is left (and, with two common ancestors found,
   * EXTRA_STEPS further), a snapshot whose marks grow is taken again, and a common ancestor that
   * another one's walk reached is dropped.
   */
  async mergeBase(mine: readonly SnapshotId[], theirs: SnapshotId): Promise<SnapshotId | undefined> {
    return (await this.mergeBases(mine, theirs))[0];
  }

  /**
   * Every best common ancestor of `mine` and `theirs` (mergeBase's first): more than one where two
   * devices' passes crossed, each merging a snapshot the other made meanwhile.
   */
  async mergeBases(mine: readonly SnapshotId[], theirs: SnapshotId): Promise<SnapshotId[]> {
    const flags = new Map<SnapshotId, number>();
    const queue: Array<{ id: SnapshotId; time: number }> = [];
    /** Common ancestors in the order found, and the snapshots below one. */
    const found: SnapshotId[] = [];
    const below = new Set<SnapshotId>();
    /** `parent`: a parent that is gone (admin forget) ends its branch; the sides themselves must be there. */
    const mark = async (id: SnapshotId, bits: number, parent = false): Promise<void> => {
      if (bits & STALE) below.add(id);
      const had = flags.get(id) ?? 0;
      if ((had | bits) === had) return;
      flags.set(id, had | bits);
      const s = parent ? await this.parent(id) : await this.get(id);
      if (s !== undefined) queue.push({ id, time: Date.parse(s.time) });
    };
    for (const id of mine) await mark(id, MINE);
    await mark(theirs, THEIRS);
    const reading = this.walkReads(Math.max(...queue.map((q) => q.time)));
    const live = (): boolean => queue.some((q) => ((flags.get(q.id) as number) & STALE) === 0);
    // Two common ancestors, the first found maybe below the second (a clock behind between them):
    // their staleness is followed a little further, enough for a skew near the heads.
    let extra = EXTRA_STEPS;
    const unsettled = (): boolean => found.filter((id) => !below.has(id)).length > 1 && queue.length > 0 && extra-- > 0;
    while (live() || unsettled()) {
      const { id, time } = popNewest(queue);
      let bits = flags.get(id) as number;
      if ((bits & (BOTH | STALE)) === BOTH) {
        found.push(id);
        bits |= STALE;
        flags.set(id, bits);
      }
      await reading(time);
      for (const parent of (await this.get(id)).parents) await mark(parent, bits, true);
    }
    return found.filter((id) => !below.has(id));
  }

  /**
   * Which of `targets` are ancestors of (or among) `mine`, in one walk from `mine`, newest first,
   * that ends once every target is found or the walk is older than the oldest target. Many heads
   * that one descends from (a chain of VDI sessions, each a device of its own) cost one walk
   * instead of one each. A target the walk misses (clocks that ran backwards along a parent link,
   * an unreadable snapshot) is only not known to be an ancestor: mergeBase decides it. So a
   * snapshot the walk cannot read (missing, damaged) ends its branch instead of the pass: the walk
   * reads beyond what a merge needs (the parents of the oldest target), and where a merge does need
   * it, mergeBase reads it again and fails with its error, naming it (one that is gone ends the
   * branch there too: see the header).
   */
  async ancestorsAmong(mine: readonly SnapshotId[], targets: readonly SnapshotId[]): Promise<Set<SnapshotId>> {
    const wanted = new Map<SnapshotId, number>();
    for (const t of new Set(targets)) {
      const time = await this.get(t).then((s) => Date.parse(s.time), () => undefined);
      if (time !== undefined) wanted.set(t, time);
    }
    const found = new Set<SnapshotId>();
    if (mine.length === 0 || wanted.size === 0) return found;
    const oldest = Math.min(...wanted.values());
    const seen = new Set<SnapshotId>();
    const queue: Array<{ id: SnapshotId; time: number }> = [];
    const visit = async (id: SnapshotId): Promise<void> => {
      if (seen.has(id)) return;
      seen.add(id);
      const time = await this.get(id).then((s) => Date.parse(s.time), () => undefined);
      if (time !== undefined) queue.push({ id, time });
    };
    for (const id of mine) await visit(id);
    const reading = this.walkReads(Math.max(...queue.map((q) => q.time)));
    while (queue.length > 0 && found.size < wanted.size) {
      const { id, time } = popNewest(queue);
      if (time < oldest) break;
      if (wanted.has(id)) found.add(id);
      await reading(time);
      for (const parent of (await this.get(id)).parents) await visit(parent);
    }
    return found;
  }

  /**
   * A walk's read rule, called before each step at the time it reached: after BULK_AFTER single
   * reads, read in bulk; after a first bulk read, a single read means its window was too short,
   * and the next one doubles.
   */
  private walkReads(newest: number): (reached: number) => Promise<void> {
    let since = this.singles;
    let windows = 0;
    return async (reached) => {
      if (this.bulk && windows < MAX_WINDOWS && this.singles - since >= (windows === 0 ? BULK_AFTER : 1)) {
        await this.readBulk(newest, reached, windows++);
        since = this.singles;
      }
    };
  }

  /** Reads at once what the walk will likely meet next: snapshots written since before `reached`, the window doubling each time. */
  private async readBulk(newest: number, reached: number, window: number): Promise<void> {
    const span = Math.max(newest - reached, HOUR) * 2 ** window;
    for (const { id, snapshot } of await (this.bulk as BulkRead)(reached - span, (id) => this.cache.has(id))) this.cache.set(id, snapshot);
  }
}

/** Takes the newest entry of a walk's queue (ties by id), so that a node's flags are complete when it is taken. */
function popNewest(queue: Array<{ id: SnapshotId; time: number }>): { id: SnapshotId; time: number } {
  queue.sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return queue.pop()!;
}

/** A new snapshot's time: `now`, but after each of its parents' (repo timeAfterParents). */
export async function snapshotTime(now: Date, parents: readonly SnapshotId[], graph: SnapshotGraph): Promise<string> {
  const times: string[] = [];
  for (const p of parents) times.push((await graph.get(p)).time);
  return timeAfterParents(now.getTime(), times);
}

/** The graph of `layer` in `repo`, with bulk reads; `kept` as SnapshotGraph's. */
export function layerGraph(repo: Repository, layer: string, kept?: number): SnapshotGraph {
  const bulk = repo.snapshotBulk(layer);
  return new SnapshotGraph((id) => repo.loadSnapshot(layer, id), (since, skip) => bulk.since(since, skip), (id) => keys.snapshot(layer, id), kept);
}
