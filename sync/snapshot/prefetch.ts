/**
 * The parent snapshot's trees, read ahead of the walk one level at a time.
 *
 * The walk needs the parent's tree of every directory it enters (the stat cache). Reading them
 * one by one costs a round trip per directory; reading a whole level of the hierarchy with
 * repo.loadTrees lets neighbouring trees of a pack share one ranged GET, so a snapshot costs
 * about (levels × packs holding its trees) GETs instead of one per directory. A level's trees lie
 * among those of other levels (a snapshot writes each folder's tree after its subfolders'), so
 * each coalesced read brings those too: the ranges are kept (restore's RangeCache) and deeper
 * levels are served from them, or a deep layer's tree packs would be fetched once per level.
 *
 * What must always hold:
 * - Same meaning as loading each tree when it is needed (parent.ts): an unreadable parent tree
 *   gives NO_PARENT (that subtree is read from disk); store errors stop the snapshot.
 * - Memory is bounded: a tree is dropped once the walk has taken it as often as the parent
 *   snapshot names it, and read-ahead stops descending once `maxEntries` entries are held; the
 *   trees below are then read ahead from the directory the walk needs next.
 */
import { MAX_TREE_BYTES, type Repository } from '../repo/index.js';
import type { BlobId } from '../repo/types.js';
import { loadTrees, RangeCache } from '../restore/ranges.js';
import { NO_PARENT, byName, loadParentDir, type ParentDir } from './parent.js';
import { isObjectError } from '../store/index.js';

/** A few hundred bytes per decoded entry: well under 100 MB, and a layer of up to this many entries is read ahead whole. */
export const DEFAULT_MAX_ENTRIES = 250_000;

interface Held {
  readonly dir: ParentDir;
  /** How many more times the walk will take it: once per directory entry naming it. */
  uses: number;
}

export class ParentTrees {
  private readonly held = new Map<BlobId, Held>();
  private entries = 0;
  private readonly ranges: RangeCache;

  constructor(
    private readonly repo: Repository,
    private readonly maxEntries = DEFAULT_MAX_ENTRIES,
  ) {
    this.ranges = new RangeCache(repo.format.hash);
  }

  /** Entries of the trees read ahead and not taken yet. */
  get heldEntries(): number {
    return this.entries;
  }

  /** The parent's entries for tree `id` (NO_PARENT when none or unreadable), reading ahead below it when it was not read yet. */
  async take(id: BlobId | undefined): Promise<ParentDir> {
    if (id === undefined) return NO_PARENT;
    if (!this.held.has(id)) await this.readAhead(id);
    const held = this.held.get(id);
    if (!held) return NO_PARENT;
    if (--held.uses <= 0) {
      this.held.delete(id);
      this.entries -= held.dir.size;
    }
    return held.dir;
  }

  /** Reads the trees below `root` level by level (the root's level always) until maxEntries are held. */
  async readAhead(root: BlobId): Promise<void> {
    let level = new Map<BlobId, number>([[root, 1]]);
    do {
      const loaded = await loadLevel(this.repo, this.ranges, [...level.keys()]);
      for (const [id, dir] of loaded) this.hold(id, dir, level.get(id) ?? 1);
      level = this.nextLevel(loaded.values());
    } while (level.size > 0 && this.entries < this.maxEntries);
  }

  private hold(id: BlobId, dir: ParentDir, uses: number): void {
    const held = this.held.get(id);
    if (held) held.uses += uses;
    else {
      this.held.set(id, { dir, uses });
      this.entries += dir.size;
    }
  }

  /**
   * The subtrees `dirs` name, with how often. A subtree already held (a directory identical to one
   * read before, such as an empty one) only gains a use; below a second copy of a non-empty one
   * the walk may then find trees already taken and reads them again, which is rare and correct.
   */
  private nextLevel(dirs: Iterable<ParentDir>): Map<BlobId, number> {
    const next = new Map<BlobId, number>();
    for (const dir of dirs) {
      for (const e of dir.values()) {
        if (e.type !== 'dir') continue;
        const held = this.held.get(e.subtree);
        if (held) held.uses++;
        else next.set(e.subtree, (next.get(e.subtree) ?? 0) + 1);
      }
    }
    return next;
  }
}

/** Trees `ids` with coalesced reads; an unreadable one maps to NO_PARENT. */
async function loadLevel(repo: Repository, ranges: RangeCache, ids: readonly BlobId[]): Promise<Map<BlobId, ParentDir>> {
  const out = new Map<BlobId, ParentDir>();
  const readable: BlobId[] = [];
  for (const id of ids) {
    // loadTrees refuses the whole batch for one id it cannot read: such ids are settled here.
    const loc = repo.blobLocation(id);
    if (loc?.type === 'tree' && loc.length <= MAX_TREE_BYTES) readable.push(id);
    else out.set(id, NO_PARENT);
  }
  try {
    await loadTrees(repo, ranges, readable, (id, tree) => {
      out.set(id, byName(tree));
    });
  } catch (err) {
    if (!isObjectError(err)) throw err;
    // One corrupt tree fails its batch: the others are read one by one so only the bad ones are lost.
    for (const id of readable) if (!out.has(id)) out.set(id, await loadParentDir(repo, id));
  }
  return out;
}
