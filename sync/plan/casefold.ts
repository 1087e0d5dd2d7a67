/**
 * Names that collide on case-insensitive file systems (NTFS, APFS, HFS+). On such a target two
 * paths of the merged tree that fold to the same key cannot both exist, so before the tree
 * reaches the disk:
 *
 * - dirs that collide are united: the one that sorts first (code-unit order of the original
 *   path) keeps its name and the other's children move into it;
 * - a file or symlink that collides keeps the name only if it sorts first and is not up against
 *   a dir (a dir always keeps the name, as in a type conflict); otherwise it becomes a conflict copy.
 *
 * The result depends only on the tree and on who made each node, so every device resolves a
 * collision the same way, and a tree without collisions comes back unchanged.
 */
import { freeConflictPath } from './conflict-name.js';
import { baseName, compareStrings, joinPath, mtimeOf, parentOf } from './nodes.js';
import { withoutWhiteouts } from './flat.js';
import type { Conflict, DiskNode, Node } from './types.js';

/** Windows and macOS file systems are case-insensitive unless set up otherwise. */
export function caseInsensitiveByDefault(platform: NodeJS.Platform = process.platform): boolean {
  return platform === 'win32' || platform === 'darwin';
}

/**
 * Whether a machine folds case: always under the org's `policies.caseInsensitive` (the layer is
 * shared with machines whose disks do), else as its platform's disks do.
 */
export function caseInsensitiveFor(policy: boolean | undefined, platform: NodeJS.Platform = process.platform): boolean {
  return policy === true || caseInsensitiveByDefault(platform);
}

/**
 * The key under which case-insensitive file systems compare names. Upper- then lower-casing
 * over-folds a little (ß ~ ss) compared with NTFS's table: that can only rename a file that did
 * not need it, never let two files fight over one name.
 */
export function foldKey(path: string): string {
  return path.normalize('NFC').toUpperCase().toLowerCase().normalize('NFC');
}

/** Whether a tree has two paths with the same fold key. */
export function hasCaseCollisions(paths: Iterable<string>): boolean {
  const seen = new Set<string>();
  for (const p of paths) {
    const k = foldKey(p);
    if (seen.has(k)) return true;
    seen.add(k);
  }
  return false;
}

class Placement {
  readonly tree = new Map<string, Node>();
  readonly conflicts: Conflict[] = [];
  /** fold key → placed path */
  private readonly byFold = new Map<string, string>();
  /** placed path → path in the input (for the device that made it) */
  private readonly source = new Map<string, string>();
  /** input path → placed path */
  readonly placedAt = new Map<string, string>();
  /** input dir → where it (or the dir it was united with) now is */
  readonly dirMoves = new Map<string, string>();

  constructor(
    private readonly inputFolds: ReadonlySet<string>,
    private readonly deviceOf: (path: string) => string,
  ) {}

  holder(path: string): string | undefined {
    return this.byFold.get(foldKey(path));
  }

  put(path: string, node: Node, from: string): void {
    this.tree.set(path, node);
    this.byFold.set(foldKey(path), path);
    this.source.set(path, from);
    this.placedAt.set(from, path);
    if (node.type === 'dir' && path !== from) this.dirMoves.set(from, path);
  }

  /** Places a node under a conflict name next to `near`. */
  putAside(near: string, node: Node, from: string): void {
    const taken = (c: string) => this.byFold.has(foldKey(c)) || this.inputFolds.has(foldKey(c));
    const device = this.deviceOf(from);
    const copy = freeConflictPath(near, mtimeOf(node), device, taken);
    this.put(copy, node, from);
    this.conflicts.push({ path: near, copy, device, reason: 'case' });
  }

  evict(path: string): void {
    const node = this.tree.get(path) as Node;
    const from = this.source.get(path) as string;
    this.tree.delete(path);
    this.byFold.delete(foldKey(path));
    this.source.delete(path);
    this.putAside(path, node, from);
  }
}

/**
 * Resolves fold collisions in a well-formed tree. `deviceOf(path)` names the device that made the
 * node at that path of the input (for conflict names).
 */
export function resolveCaseCollisions(
  tree: ReadonlyMap<string, Node>,
  deviceOf: (path: string) => string,
): { tree: Map<string, Node>; conflicts: Conflict[]; relocate: (path: string) => string } {
  const paths = [...tree.keys()].sort(compareStrings);
  const place = new Placement(new Set(paths.map(foldKey)), deviceOf);
  for (const p of paths) {
    const node = tree.get(p) as Node;
    const parent = parentOf(p);
    const at = joinPath(place.dirMoves.get(parent) ?? parent, baseName(p));
    const holder = place.holder(at);
    const held = holder === undefined ? undefined : place.tree.get(holder);
    if (holder === undefined || held === undefined) {
      place.put(at, node, p);
    } else if (node.type === 'dir' && held.type === 'dir') {
      place.dirMoves.set(p, holder);
    } else if (node.type === 'dir') {
      place.evict(holder);
      place.put(at, node, p);
    } else {
      place.putAside(at, node, p);
    }
  }
  // Where an input path (or a path that would have been inside an input dir) ended up.
  const relocate = (path: string): string => {
    const at = place.placedAt.get(path) ?? place.dirMoves.get(path);
    if (at !== undefined || path === '') return at ?? path;
    return joinPath(relocate(parentOf(path)), baseName(path));
  };
  return { tree: place.tree, conflicts: place.conflicts, relocate };
}

/**
 * A layer's tree (whiteouts and all) with its fold collisions resolved (resolveCaseCollisions).
 * Whiteouts never reach the disk, so they take no part in fold collisions; they follow the dir
 * they are in, and one that lands on a surviving node's path is redundant there. A tree without
 * collisions comes back unchanged.
 */
export function foldLayerTree(
  tree: ReadonlyMap<string, Node>,
  deviceOf: (path: string) => string,
): { tree: Map<string, Node>; conflicts: Conflict[]; relocate: (path: string) => string } {
  const whiteouts = [...tree].filter(([, n]) => n.type === 'whiteout').map(([p]) => p);
  const rest = new Map(tree);
  for (const p of whiteouts) rest.delete(p);
  if (!hasCaseCollisions(rest.keys())) return { tree: new Map(tree), conflicts: [], relocate: (p) => p };
  const folded = resolveCaseCollisions(rest, deviceOf);
  for (const p of whiteouts) {
    const at = folded.relocate(p);
    if (!folded.tree.has(at)) folded.tree.set(at, { type: 'whiteout' });
  }
  return folded;
}

/**
 * `tree` as a case-insensitive disk can hold it: without whiteouts (no disk holds them), and with
 * its fold collisions resolved (resolveCaseCollisions). For trees that no single merge resolved:
 * the org layers overlaid by the user layer, whose names each layer keeps apart.
 */
export function foldForDisk(tree: ReadonlyMap<string, Node>, deviceOf: (path: string) => string): { tree: Map<string, DiskNode>; conflicts: Conflict[] } {
  const disk = withoutWhiteouts(tree);
  if (!hasCaseCollisions(disk.keys())) return { tree: disk, conflicts: [] };
  const folded = resolveCaseCollisions(disk, deviceOf);
  const sorted = new Map([...(folded.tree as Map<string, DiskNode>)].sort(([a], [b]) => compareStrings(a, b)));
  return { tree: sorted, conflicts: folded.conflicts };
}
