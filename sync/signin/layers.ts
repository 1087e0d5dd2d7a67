/**
 * The layers a user signs in to (DESIGN §1): the org layers their profile assigns, lowest first,
 * then their own layer `user/<id>`, each at its latest snapshot, as flat trees.
 *
 * A missing profile means no org layers on a machine that laid none (a first sign-in); on one that
 * did, it fails (assignedOrgLayers). An assigned org layer that was never published, and a user
 * layer nobody has written yet (a new hire without a preload), are simply absent. A past
 * tree whose index is gone (garbage-collected) is left out of `history`. Trees are
 * loaded a level at a time with coalesced reads — those this machine kept in the folder's tree
 * files read from there (StackOptions.treeDir) — and each file's chunk list is kept by its
 * content key so the effective tree can be written back as trees (effective.ts).
 */
import { layerGraph, type SnapshotGraph } from '../agent/history.js';
import { KeptTrees } from '../agent/tree-files.js';
import { describeError, isStrataError, StrataError } from '../errors.js';
import { contentKey, flatten, flattenLoaded, type Node } from '../plan/index.js';
import { assignedLayers, profileKey, readProfile } from '../profile/index.js';
import { loadAllTrees, type Trees } from '../profile/load-trees.js';
import type { Repository } from '../repo/index.js';
import type { ListedHeads, SnapshotRecord } from '../repo/layers.js';
import { keys, type BlobId, type Head, type SnapshotId, type Tree } from '../repo/types.js';
import { isObjectError } from '../store/index.js';
import type { LaidLayer } from './session.js';

/** content key → chunk ids. */
export type ChunkMap = Map<string, readonly BlobId[]>;

export interface StackLayer extends LaidLayer {
  tree: Map<string, Node>;
}

export interface LayerStack {
  org: StackLayer[];
  user: StackLayer | undefined;
  /** Assigned org layers with no snapshot yet: left out. */
  unpublished: string[];
  chunks: ChunkMap;
  /** Each dir's mtime in the highest layer that dates it (0: none does). */
  dirMtimes: Map<string, number>;
  /**
   * Trees this machine's disk may still show: the org layers the previous sign-in laid and the
   * user layer as this device last synced it. A local file equal to a version in them, or in the
   * stack, was laid or synced here — it is not a local edit, and first contact may replace it.
   */
  history: Map<string, Node>[];
  /**
   * With StackOptions.keepTrees, the verified bytes of every tree of the layers laid (not of their
   * history) that was fetched: the agent's first pass reads those, and the lay keeps them for it
   * (lay.ts). Those read from StackOptions.treeDir are there already.
   */
  laidTrees: [BlobId, Uint8Array][];
}

export interface StackOptions {
  /** This machine's device id: its own head in the user layer is what it last synced. */
  device?: string;
  /**
   * The user snapshot this machine's last synced pass recorded (agent/settled.ts): what it last
   * synced when its head is gone (a VDI session's final head, dropped: device-head.ts).
   */
  synced?: SnapshotId;
  /** Org roots this machine's disk may still show: those the previous sign-in laid, and those its last synced pass had under it. */
  previousOrg?: readonly BlobId[];
  /** The user layer's snapshot graph, to share its reads with later walks (device-head.ts). */
  graph?: SnapshotGraph;
  /**
   * The repository's indexes, still loading (openRepository with loadIndex false): the profile and
   * the latest snapshots are read meanwhile, and only the trees wait for it.
   */
  indexLoading?: Promise<void>;
  /** Fill LayerStack.laidTrees (a copy of each tree's bytes, held until the stack goes). */
  keepTrees?: boolean;
  /**
   * The folder's tree files (agent/tree-files.ts): the trees kept there are read from there, and
   * only the rest fetched. A signed-in-again machine holds most of them; where the dir is missing,
   * one failed readdir is all it costs.
   */
  treeDir?: string;
}

/**
 * Reads the profile, the latest snapshot of each layer and all their trees; with `opts`, also
 * the trees this machine's disk may hold from before (`history`).
 */
export async function readLayerStack(repo: Repository, user: string, opts: StackOptions = {}): Promise<LayerStack> {
  const userLayer = `user/${user}`;
  // The user layer's heads are listed while the profile is read (a round trip or two less before
  // the trees): its latest snapshot and this device's own head (pastRoots) both come from there.
  const userHeads = repo.listHeads(userLayer);
  userHeads.catch(() => undefined);
  const kept = opts.treeDir === undefined ? undefined : KeptTrees.open(opts.treeDir, repo.format.hash);
  const org = await assignedOrgLayers(repo, user, (opts.previousOrg?.length ?? 0) > 0);
  const graph = opts.graph ?? layerGraph(repo, userLayer);
  // The user layer's latest snapshot, just read and verified, is where the history walks start (pastRoots, device-head.ts): not read again.
  const onLatest = (layer: string, rec: SnapshotRecord): void => {
    if (layer === userLayer) graph.add(rec.id, rec.snapshot);
  };
  const { laid, unpublished } = await latestLayers(repo, [...org, userLayer], new Map([[userLayer, userHeads]]), onLatest);
  await opts.indexLoading;
  const userLaid = laid.at(-1)?.layer === userLayer ? laid.at(-1) : undefined;
  const historyRoots = await pastRoots(repo, userLaid, (await userHeads).heads, { ...opts, graph }, new Set(laid.map((l) => l.root)));
  const named = new Map(laid.map((l) => [l.root, keys.snapshot(l.layer, l.snapshot)]));
  const bytes = opts.keepTrees ? new Map<BlobId, Uint8Array>() : undefined;
  const trees = await loadAllTrees(repo, [...laid.map((l) => l.root), ...historyRoots], new Map(), named, { ...(bytes ? { bytes } : {}), ...(kept ? { kept: await kept } : {}) });
  const chunks: ChunkMap = new Map();
  const flat = (root: BlobId): Map<string, Node> => flattenLoaded(trees, root, chunks);
  const dirMtimes = new Map<string, number>();
  const stacked = laid.map((l): StackLayer => {
    // flatten first: it refuses a tree of shared subtrees naming billions of paths, or nesting
    // too deep, before anything walks it path by path.
    const tree = flat(l.root);
    collectDirMtimes(trees, l.root, '', dirMtimes);
    return { ...l, tree };
  });
  const own = stacked.at(-1)?.layer === userLayer ? stacked.pop() : undefined;
  const laidTrees = bytes ? bytesUnder(trees, laid.map((l) => l.root), bytes) : [];
  return { org: stacked, user: own, unpublished, chunks, dirMtimes, history: historyRoots.map(flat), laidTrees };
}

/** Of `bytes`, those of the trees under `roots` (roots included); a tree without (read from the tree files) is walked through. */
function bytesUnder(trees: Trees, roots: readonly BlobId[], bytes: ReadonlyMap<BlobId, Uint8Array>): [BlobId, Uint8Array][] {
  const out = new Map<BlobId, Uint8Array>();
  const walked = new Set<BlobId>();
  const stack = [...roots];
  for (let id = stack.pop(); id !== undefined; id = stack.pop()) {
    if (walked.has(id)) continue;
    walked.add(id);
    const data = bytes.get(id);
    if (data !== undefined) out.set(id, data);
    for (const e of treeOf(trees, id).entries) if (e.type === 'dir') stack.push(e.subtree);
  }
  return [...out];
}

/**
 * The org layers the user's profile assigns, lowest first. Without a profile, none — on a machine
 * where no org layers were laid (`laidHere` false: a first sign-in, DESIGN §4). Where some were, a
 * missing profile is no unassignment (an admin unassigns with a profile of no layers) but one
 * deleted by mistake, or missed by the bucket's answer: taken for none, it would remove every org
 * file from home. That fails with E_PROFILE_MISSING naming the profile's key.
 */
export async function assignedOrgLayers(repo: Repository, user: string, laidHere = false): Promise<string[]> {
  const profile = await readProfile(repo.store, user);
  if (profile === undefined && laidHere) {
    throw new StrataError('E_PROFILE_MISSING', `${user}'s profile is missing, yet org layers were laid here from it: not taken for an unassignment, home keeps them (an admin writes it again, or unassigns them with strata admin assign --user ${user} --layers '')`, { key: profileKey(user) });
  }
  return assignedLayers(profile);
}

/**
 * Each layer at its latest snapshot, in order; `unpublished`: the org layers without one (left
 * out). `listed`: the heads of some of the layers, listed by the caller (not listed again);
 * `onLatest`: told each layer's latest snapshot as read.
 */
export async function latestLayers(
  repo: Repository,
  layers: readonly string[],
  listed: ReadonlyMap<string, Promise<ListedHeads>> = new Map(),
  onLatest?: (layer: string, rec: SnapshotRecord) => void,
): Promise<{ laid: LaidLayer[]; unpublished: string[] }> {
  const latest = await Promise.all(
    layers.map(async (layer) => {
      const rec = await repo.latestSnapshot(layer, await listed.get(layer));
      if (rec) onLatest?.(layer, rec);
      return rec;
    }),
  );
  const laid: LaidLayer[] = [];
  const unpublished: string[] = [];
  layers.forEach((layer, i) => {
    const rec = latest[i];
    if (rec) laid.push({ layer, snapshot: rec.id, root: rec.snapshot.root });
    else if (layer.startsWith('org/')) unpublished.push(layer);
  });
  return { laid, unpublished };
}

/**
 * Refuses org layer versions that cannot be laid whole, before a running agent switches to them
 * (refresh.ts): every tree must be in an index and verify, name plain paths and not too many
 * (flatten), and every file's chunks must be in an index. Switched to, such a version would fail
 * every pass of the agent — the user's edits unsynced — after the pass may have removed files of
 * the version laid now. Fails with E_ORG_VERSION_REFUSED naming the snapshot and the reason; a
 * store that cannot be reached fails as it does. `repo`'s index must be loaded.
 */
export async function checkLayable(repo: Repository, laid: readonly LaidLayer[]): Promise<void> {
  for (const l of laid) {
    const key = keys.snapshot(l.layer, l.snapshot);
    const refuse = (why: string, cause?: unknown): StrataError =>
      new StrataError('E_ORG_VERSION_REFUSED', `${l.layer} version ${l.snapshot} cannot be laid (the layers laid now are kept): ${why}`, { key }, { cause });
    try {
      const trees = await loadAllTrees(repo, [l.root], new Map(), new Map([[l.root, key]]));
      flatten(treeOf(trees, l.root), (id) => treeOf(trees, id), (e) => {
        const missing = e.chunks.find((c) => repo.blobLocation(c) === undefined);
        if (missing !== undefined) throw refuse(`a chunk of a file named ${e.name} is in no index (${missing})`);
        return contentKey(e.chunks);
      });
    } catch (err) {
      // Not the version's fault: the bucket out of reach, refused, or a pause (refresh.ts).
      if (isStrataError(err, 'E_ORG_VERSION_REFUSED') || !isStrataError(err) || err.code === 'E_TRANSIENT' || err.code === 'E_AUTH' || err.code === 'E_PAUSED') throw err;
      throw refuse(describeError(err), err);
    }
  }
}

/**
 * Roots of the trees this machine last laid or synced that the current stack does not hold. The
 * device's own head (or, gone, the snapshot its last synced pass recorded) counts only when the
 * laid user snapshot descends from it: a head with changes the laid snapshot lacks holds edits,
 * not history, and first contact must keep those.
 */
async function pastRoots(repo: Repository, user: LaidLayer | undefined, userHeads: readonly Head[], opts: StackOptions, current: ReadonlySet<BlobId>): Promise<BlobId[]> {
  const roots = [...(opts.previousOrg ?? [])];
  if (opts.device !== undefined && user !== undefined) {
    const graph = opts.graph ?? layerGraph(repo, user.layer);
    const own = userHeads.find((h) => h.device === opts.device)?.snapshot ?? (await readable(graph, opts.synced));
    if (own && (await graph.mergeBase([user.snapshot], own)) === own) roots.push((await graph.get(own)).root);
  }
  return [...new Set(roots)].filter((r) => !current.has(r) && repo.blobLocation(r) !== undefined);
}

/** `id` if it names a snapshot of the graph's layer that reads; a store that fails, fails. */
async function readable(graph: SnapshotGraph, id: SnapshotId | undefined): Promise<SnapshotId | undefined> {
  if (id === undefined) return undefined;
  return graph.get(id).then(
    () => id,
    (err: unknown) => {
      if (isObjectError(err)) return undefined;
      throw err;
    },
  );
}

function treeOf(trees: Trees, id: BlobId): Tree {
  const t = trees.get(id);
  if (t === undefined) throw new StrataError('E_INTERNAL', `tree ${id} was not loaded`);
  return t;
}

function collectDirMtimes(trees: Trees, id: BlobId, dir: string, out: Map<string, number>): void {
  for (const e of treeOf(trees, id).entries) {
    if (e.type !== 'dir') continue;
    const path = dir === '' ? e.name : `${dir}/${e.name}`;
    // Layers the agent writes date no dirs (mtime 0): they must not hide a real date below.
    if (e.mtimeMs > 0 || !out.has(path)) out.set(path, e.mtimeMs);
    collectDirMtimes(trees, e.subtree, path, out);
  }
}
