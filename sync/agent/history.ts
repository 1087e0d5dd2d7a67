/**
 * The snapshot graph of one layer: every snapshot names its parents (its device's previous one and
 * the heads it merged), so the common ancestor of two heads is the merge base (DESIGN §3, the
 * `synced` tree of the three-tree model).
 *
 * Must hold: mergeBase returns a true common ancestor or none, never a snapshot that only one side
 * descends from — a base that is too new would turn the other side's changes into silent reverts.
 * A base that is older than the best one only costs extra conflict copies, never data; with clocks
 * that run forward along parent links the result is the newest common ancestor.
 *
 * A walk reads each snapshot it meets, one at a time: a long one (a machine whose own head is
 * hundreds of snapshots old) would cost a round trip each. With `bulk`, after BULK_AFTER single
 * reads in one walk, the graph reads every snapshot written since a little before the walk's
 * oldest point at once (SnapshotBulk), in windows that double until the walk ends. Only what is
 * read changes, not what the walk concludes.
 */
import type { Repository } from '../repo/index.js';
import type { Snapshot, SnapshotId } from '../repo/types.js';

const MINE = 1;
const THEIRS = 2;
const BOTH = MINE | THEIRS;
/** Single reads before a bulk read. */
export const BULK_AFTER = 16;
const HOUR = 3_600_000;
/** Bulk reads in one walk at most: the window has doubled past any history by then. */
const MAX_WINDOWS = 24;

/** Snapshots written at or after `since` (ms, the store's clock) that `skip` does not name. */
export type BulkRead = (since: number, skip: (id: SnapshotId) => boolean) => Promise<{ id: SnapshotId; snapshot: Snapshot }[]>;

export class SnapshotGraph {
  private readonly cache = new Map<SnapshotId, Snapshot>();
  /** Snapshots read one at a time, ever. */
  private singles = 0;

  constructor(
    private readonly load: (id: SnapshotId) => Promise<Snapshot>,
    private readonly bulk?: BulkRead,
  ) {}

  async get(id: SnapshotId): Promise<Snapshot> {
    let s = this.cache.get(id);
    if (s === undefined) {
      s = await this.load(id);
      this.cache.set(id, s);
      this.singles++;
    }
    return s;
  }

  /** A snapshot this device just wrote: no need to read it back. */
  add(id: SnapshotId, s: Snapshot): void {
    this.cache.set(id, s);
  }

  /** Snapshots this graph has read (each one is one GET the first time). */
  get loaded(): number {
    return this.cache.size;
  }

  /**
   * The newest snapshot that is an ancestor (or equal) of one of `mine` and of `theirs`. When it
   * is `theirs` itself, everything `theirs` holds is merged already.
   */
  async mergeBase(mine: readonly SnapshotId[], theirs: SnapshotId): Promise<SnapshotId | undefined> {
    const flags = new Map<SnapshotId, number>();
    const queue: Array<{ id: SnapshotId; time: number }> = [];
    const mark = async (id: SnapshotId, bits: number): Promise<void> => {
      const had = flags.get(id) ?? 0;
      if ((had | bits) === had) return;
      flags.set(id, had | bits);
      queue.push({ id, time: Date.parse((await this.get(id)).time) });
    };
    for (const id of mine) await mark(id, MINE);
    await mark(theirs, THEIRS);
    const newest = Math.max(...queue.map((q) => q.time));
    let since = this.singles;
    let windows = 0;
    while (queue.length > 0) {
      // Newest first (ties by id), so that a node's flags are complete when it is taken.
      queue.sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const { id, time } = queue.pop()!;
      const bits = flags.get(id)!;
      if (bits === BOTH) return id;
      // After a first bulk read, a single read means its window was too short: the next one doubles.
      if (this.bulk && windows < MAX_WINDOWS && this.singles - since >= (windows === 0 ? BULK_AFTER : 1)) {
        await this.readBulk(newest, time, windows++);
        since = this.singles;
      }
      for (const parent of (await this.get(id)).parents) await mark(parent, bits);
    }
    return undefined;
  }

  /** Reads at once what the walk will likely meet next: snapshots written since before `reached`, the window doubling each time. */
  private async readBulk(newest: number, reached: number, window: number): Promise<void> {
    const span = Math.max(newest - reached, HOUR) * 2 ** window;
    for (const { id, snapshot } of await (this.bulk as BulkRead)(reached - span, (id) => this.cache.has(id))) this.cache.set(id, snapshot);
  }
}

/** The graph of `layer` in `repo`, with bulk reads. */
export function layerGraph(repo: Repository, layer: string): SnapshotGraph {
  const bulk = repo.snapshotBulk(layer);
  return new SnapshotGraph((id) => repo.loadSnapshot(layer, id), (since, skip) => bulk.since(since, skip));
}
