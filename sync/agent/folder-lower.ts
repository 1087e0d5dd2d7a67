/**
 * The org layers under a synced folder's user layer (folder.ts): the roots the disk is laid from,
 * lowest first, a switch of them to new ones (an admin published a new version, or assigned others)
 * until a pass has synced it, and their effective trees, loaded once per set of roots.
 *
 * Must hold: while a switch has not synced, `before` names the roots the disk was laid from, so a
 * pass reads the disk against both (mine.ts, overlay's laidLower); only the trees of the roots in
 * use — those laid, and those a switch is from — are kept.
 */
import type { Node } from '../plan/index.js';
import type { BlobId } from '../repo/types.js';
import { overlay } from '../overlay/index.js';
import type { FolderOptions } from './folder-types.js';
import { snapshotTree } from './remote.js';
import type { ChunkMap } from './trees.js';

/** What reading a layer's trees needs (remote.ts snapshotTree), given the chunk map to fill. */
type View = (chunks: ChunkMap) => Parameters<typeof snapshotTree>[0];

export class OrgLayers {
  /** Root trees of the org layers under the user layer, lowest first (FolderOptions.lower). */
  roots: readonly BlobId[];
  /** The roots the disk was laid from, while a switch to `roots` has not synced (FolderOptions.lowerBefore). */
  before: readonly BlobId[] | undefined;
  /**
   * Counts switches. A pass that read the org layers before a switch came must not call the folder
   * settled at its end, or the next pass would take the idle shortcut and end the switch without
   * making it.
   */
  switches = 0;
  /** The snapshot keys of the roots (FolderOptions.rootKeys). */
  private readonly rootKeys: Map<BlobId, string>;
  /** Effective trees of org layer roots, loaded once per set of roots. */
  private readonly trees = new Map<string, { tree: Map<string, Node>; chunks: ChunkMap }>();

  constructor(opts: Pick<FolderOptions, 'lower' | 'lowerBefore' | 'rootKeys'>) {
    this.roots = opts.lower ?? [];
    this.before = opts.lowerBefore;
    this.rootKeys = new Map(opts.rootKeys);
  }

  /** Switches to `lower`, from `before`, the roots the disk was laid from (SyncFolder.switchLower). */
  switchTo(lower: readonly BlobId[], before: readonly BlobId[], rootKeys: ReadonlyMap<BlobId, string>): void {
    for (const [root, key] of rootKeys) this.rootKeys.set(root, key);
    this.roots = lower;
    this.before = before;
    this.switches++;
  }

  /** The effective tree of org layer roots (empty for none); their chunks are added to `chunks`. */
  async tree(roots: readonly BlobId[], chunks: ChunkMap, view: View): Promise<Map<string, Node>> {
    const key = roots.join(',');
    let loaded = this.trees.get(key);
    if (loaded === undefined) {
      const lowerChunks: ChunkMap = new Map();
      const layers = [];
      for (const r of roots) layers.push(await snapshotTree(view(lowerChunks), r, true, this.rootKeys.get(r)));
      loaded = { tree: overlay(layers), chunks: lowerChunks };
      // Only the roots in use are kept: those laid, and those a switch is from.
      for (const k of this.trees.keys()) if (k !== this.roots.join(',') && k !== this.before?.join(',')) this.trees.delete(k);
      this.trees.set(key, loaded);
    }
    for (const [k, v] of loaded.chunks) chunks.set(k, v);
    return loaded.tree;
  }
}
