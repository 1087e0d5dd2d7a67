/**
 * Which snapshots of a layer changed one path (`strata log <path>`): what a user who lost a file
 * asks first, to know which snapshot to restore it from.
 *
 * A snapshot changed the path when what it has there differs from what each of its parents has
 * (a merge that took one side's version changed nothing: the side's own snapshot did); one
 * without a parent that can be read (the first, or its history forgotten) changed it when it has
 * it. What is compared is the content: a file's chunks and mode, a folder's tree (so a change
 * anywhere inside it), a link's target; a time alone is no change. A whiteout is as nothing.
 * Trees are cached by id, so what snapshots share is read once.
 */
import type { Repository } from '../repo/index.js';
import { keys, type BlobId, type Snapshot, type SnapshotId, type Tree, type TreeEntry } from '../repo/types.js';

export type PathChange = 'added' | 'changed' | 'deleted';

export interface PathAt {
  /** What the snapshot has at the path: undefined for nothing (or a whiteout). */
  entry: TreeEntry | undefined;
  /** Undefined when the snapshot did not change the path. */
  change: PathChange | undefined;
}

export class PathHistory {
  private readonly trees = new Map<BlobId, Promise<Tree>>();
  private readonly at = new Map<SnapshotId, Promise<TreeEntry | undefined>>();

  constructor(
    private readonly repo: Repository,
    private readonly layer: string,
    /** The path's parts, layer-relative. */
    private readonly parts: readonly string[],
  ) {}

  /** `snapshot` (id `id`) at the path, and how it changed it; `known`: snapshots already read, by id (a parent not among them is read). */
  async of(id: SnapshotId, snapshot: Snapshot, known: ReadonlyMap<string, Snapshot>): Promise<PathAt> {
    const entry = await this.entryOf(id, snapshot);
    const present = await this.parentsPresent(snapshot, known);
    const before = await Promise.all(present.map(([pid, p]) => this.entryOf(pid, p)));
    return { entry, change: changeFrom(entry, before) };
  }

  private async parentsPresent(snapshot: Snapshot, known: ReadonlyMap<string, Snapshot>): Promise<[SnapshotId, Snapshot][]> {
    const out: [SnapshotId, Snapshot][] = [];
    for (const pid of snapshot.parents as SnapshotId[]) {
      const p = known.get(pid) ?? (await this.repo.loadSnapshot(this.layer, pid).catch(() => undefined));
      // A parent that cannot be read is where the history ends (log says so under the row).
      if (p !== undefined) out.push([pid, p]);
    }
    return out;
  }

  private entryOf(id: SnapshotId, snapshot: Snapshot): Promise<TreeEntry | undefined> {
    let found = this.at.get(id);
    if (found === undefined) {
      found = this.follow(id, snapshot.root);
      this.at.set(id, found);
    }
    return found;
  }

  private async follow(id: SnapshotId, root: BlobId): Promise<TreeEntry | undefined> {
    let tree = await this.tree(root, { path: '', key: keys.snapshot(this.layer, id) });
    let at = root;
    for (const [i, name] of this.parts.entries()) {
      const entry = tree.entries.find((e) => e.name === name);
      if (entry === undefined || entry.type === 'whiteout') return undefined;
      if (i === this.parts.length - 1) return entry;
      if (entry.type !== 'dir') return undefined;
      tree = await this.tree(entry.subtree, { path: this.parts.slice(0, i + 1).join('/'), parent: at });
      at = entry.subtree;
    }
    return undefined;
  }

  private tree(id: BlobId, ref: Parameters<Repository['loadTree']>[1]): Promise<Tree> {
    let tree = this.trees.get(id);
    if (tree === undefined) {
      tree = this.repo.loadTree(id, ref);
      this.trees.set(id, tree);
    }
    return tree;
  }
}

/** How `entry` differs from the parents' entries at the path (`before`: none when it has no parent left). */
export function changeFrom(entry: TreeEntry | undefined, before: readonly (TreeEntry | undefined)[]): PathChange | undefined {
  const now = contentOf(entry);
  if (before.length === 0) return now === undefined ? undefined : 'added';
  const then = before.map(contentOf);
  if (then.includes(now)) return undefined;
  if (now === undefined) return 'deleted';
  return then.every((c) => c === undefined) ? 'added' : 'changed';
}

/** What an entry holds, as a string two entries share only when their contents are the same. */
function contentOf(e: TreeEntry | undefined): string | undefined {
  switch (e?.type) {
    case 'file':
      return `file ${e.mode} ${e.chunks.join(',')}`;
    case 'dir':
      return `dir ${e.subtree}`;
    case 'symlink':
      return `symlink ${e.target}`;
    default:
      return undefined;
  }
}
