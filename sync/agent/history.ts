/**
 * The snapshot graph of one layer: every snapshot names its parents (its device's previous one and
 * the heads it merged), so the common ancestor of two heads is the merge base (DESIGN §3, the
 * `synced` tree of the three-tree model).
 *
 * Must hold: mergeBase returns a true common ancestor or none, never a snapshot that only one side
 * descends from — a base that is too new would turn the other side's changes into silent reverts.
 * A base that is older than the best one only costs extra conflict copies, never data; with clocks
 * that run forward along parent links the result is the newest common ancestor.
 */
import type { Snapshot, SnapshotId } from '../repo/types.js';

const MINE = 1;
const THEIRS = 2;
const BOTH = MINE | THEIRS;

export class SnapshotGraph {
  private readonly cache = new Map<SnapshotId, Snapshot>();

  constructor(private readonly load: (id: SnapshotId) => Promise<Snapshot>) {}

  async get(id: SnapshotId): Promise<Snapshot> {
    let s = this.cache.get(id);
    if (s === undefined) {
      s = await this.load(id);
      this.cache.set(id, s);
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
    while (queue.length > 0) {
      // Newest first (ties by id), so that a node's flags are complete when it is taken.
      queue.sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const { id } = queue.pop()!;
      const bits = flags.get(id)!;
      if (bits === BOTH) return id;
      for (const parent of (await this.get(id)).parents) await mark(parent, bits);
    }
    return undefined;
  }
}
