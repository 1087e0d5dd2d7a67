/**
 * Which of some paths a layer's history ever held: used at a VDI sign-in for the image's files the
 * layer does not know (base.ts `unknown`). An image file is adopted into the user layer as a
 * plain file, and a machine without that image (a persistent PC) deletes it as a plain file, with
 * no whiteout; the next reset VDI machine would then find the image's copy unknown to the layer and
 * adopt it back, undoing the user's delete. The layer's history tells the cases apart: a path the
 * user layer once held, and holds no more, was deleted by the user, and the sign-in hides the
 * image's copy (base.json keeps the path, so live sync writes the whiteout), as a whiteout would
 * hide it — whatever its bytes where the layer's own version covered the image's (a preload's over
 * it). That loses nothing only where the file is surely the image's, still in the image: on a
 * machine with no record of a sign-in from this state dir, one it had before it started (lay.ts).
 * Any other may be the user's own (saved before signing in, or while signed out), and only one with
 * bytes the history holds goes. A folder the
 * layer once held goes once those files are gone if nothing is left in it, and stays, as the
 * image's, if anything is. A path the layer never held is kept and adopted, as before.
 *
 * Cost: one listing of the layer's snapshots, then per snapshot only the trees on the way to the
 * asked paths, each tree read once (unchanged subtrees share ids). The walk goes newest first;
 * `maxSnapshots` bounds it (a layer with a very long history is read back that far only: a file
 * deleted before then is adopted back, as without this check).
 */
import type { Repository, TreeRef } from '../repo/index.js';
import { StrataError } from '../errors.js';
import { contentKey, foldKey } from '../plan/index.js';
import { keys, type BlobId, type Tree, type TreeEntry } from '../repo/types.js';

export interface HistoryPathsOptions {
  /** At most this many snapshots are read, newest first (default 2,000). */
  maxSnapshots?: number;
  /**
   * A snapshot whose object or trees cannot be read (damaged, or gone from the index) is passed
   * over and told here: the lookup only spares the user a file they deleted coming back, and one
   * damaged old snapshot must not stop a sign-in.
   */
  onSkip?: (err: StrataError) => void;
  /**
   * Names differing only in case are one name on the disk the paths were found on: a snapshot
   * holds a path under any case of its names (each such entry, where it holds several).
   */
  caseInsensitive?: boolean;
}

/** The version of a folder: no file's content key nor link's `->target` is this. */
export const HELD_DIR = '/';

/**
 * The versions some snapshot of `layer` held at each of `paths` (layer-relative, "/"): a file's
 * content key (plan's contentKey of its chunk ids), a link's `->target`, a folder's HELD_DIR.
 * Paths never held are absent. Case-insensitive, the versions at a path are those of every entry
 * whose names fold as its.
 */
export async function pathsInHistory(repo: Repository, layer: string, paths: Iterable<string>, opts: HistoryPathsOptions = {}): Promise<Map<string, Set<string>>> {
  const want = new Set(paths);
  const found = new Map<string, Set<string>>();
  if (want.size === 0) return found;
  const { snapshots, errors } = await repo.listSnapshots(layer);
  for (const err of errors) opts.onSkip?.(err);
  snapshots.sort((a, b) => (a.snapshot.time < b.snapshot.time ? 1 : a.snapshot.time > b.snapshot.time ? -1 : 0));
  const trees = new Map<BlobId, Promise<Tree>>();
  // `ref`: what names the tree, for the error when no index holds it (the first one asked names it).
  const tree = (id: BlobId, ref: TreeRef): Promise<Tree> => {
    let t = trees.get(id);
    if (t === undefined) {
      t = repo.loadTree(id, ref);
      trees.set(id, t);
    }
    return t;
  };
  // A tree's entries by name, folded where the disk is case-insensitive.
  const named = new WeakMap<Tree, Map<string, TreeEntry[]>>();
  const key = (name: string): string => (opts.caseInsensitive ? foldKey(name) : name);
  const entriesNamed = (at: Tree, name: string): TreeEntry[] => {
    let byName = named.get(at);
    if (byName === undefined) {
      byName = new Map();
      for (const e of at.entries) {
        const k = key(e.name);
        const same = byName.get(k);
        if (same === undefined) byName.set(k, [e]);
        else same.push(e);
      }
      named.set(at, byName);
    }
    return byName.get(key(name)) ?? [];
  };
  // The entries at `path` under `root` (one at most where case counts): the trees on the way are read once for all paths.
  const entriesAt = async (root: BlobId, rootKey: string, path: string): Promise<TreeEntry[]> => {
    const names = path.split('/');
    let level = [{ at: await tree(root, { path: '', key: rootKey }), id: root, path: '' }];
    for (let i = 0; level.length > 0; i++) {
      const matched = level.flatMap((l) => entriesNamed(l.at, names[i]!).map((e) => ({ e, l })));
      if (i === names.length - 1) return matched.map((m) => m.e);
      const next: typeof level = [];
      for (const { e, l } of matched) {
        if (e.type !== 'dir') continue;
        const sub = l.path === '' ? e.name : `${l.path}/${e.name}`;
        next.push({ at: await tree(e.subtree, { path: sub, parent: l.id }), id: e.subtree, path: sub });
      }
      level = next;
    }
    return [];
  };
  for (const record of snapshots.slice(0, opts.maxSnapshots ?? 2000)) {
    const held: [string, string][] = [];
    try {
      for (const p of want) {
        for (const e of await entriesAt(record.snapshot.root, keys.snapshot(layer, record.id), p)) {
          const version = e.type === 'file' ? contentKey(e.chunks) : e.type === 'symlink' ? `->${e.target}` : e.type === 'dir' ? HELD_DIR : undefined;
          if (version !== undefined) held.push([p, version]);
        }
      }
    } catch (err) {
      if (!(err instanceof StrataError)) throw err;
      opts.onSkip?.(err);
      continue;
    }
    for (const [p, version] of held) {
      const versions = found.get(p) ?? new Set<string>();
      versions.add(version);
      found.set(p, versions);
    }
  }
  return found;
}
