/**
 * Conversions between the repository's Merkle trees (one Tree object per dir, sync/repo/types.ts)
 * and the planner's flat trees. Pure: the caller loads the trees; `getTree` must answer from
 * memory. Whiteout entries become whiteout nodes and back (DESIGN §1), so a layer round-trips.
 */
import { createHash } from 'node:crypto';
import { StrataError } from '../errors.js';
import type { BlobId, FileEntry, Tree } from '../repo/types.js';
import { compareStrings, joinPath, parentOf } from './nodes.js';
import type { DiskNode, FlatTree, Node } from './types.js';

/**
 * The content key of a file: one hash over its chunk list. The same bytes always chunk the same
 * way under one repository's chunker parameters, so equal keys ⇔ equal content. A file of one
 * chunk is named by that chunk's id itself: most files are one chunk, and the key then costs no
 * hashing and no string of its own (a 100,000-file layer's trees and stat cache hold 100,000 fewer
 * keys). It cannot meet a list's hash: that would take a collision of the hash.
 */
export function contentKey(chunks: readonly BlobId[]): string {
  if (chunks.length === 1) return chunks[0]!;
  return createHash('sha256').update(chunks.join('\n')).digest('hex');
}

function fileNode(e: FileEntry, key: (e: FileEntry) => string): Node {
  return { type: 'file', size: e.size, mtimeMs: e.mtimeMs, mode: e.mode, content: key(e) };
}

/** Paths a flat tree may name: each costs memory, and a few shared subtrees can name billions. */
export const MAX_FLAT_ENTRIES = 10_000_000;
/** Folders nested deeper than any real file system allows are a hostile tree. */
export const MAX_FLAT_DEPTH = 512;

/**
 * Refuses a tree that would flatten to more than MAX_FLAT_ENTRIES paths or nest deeper than
 * MAX_FLAT_DEPTH, counting each distinct subtree once, before anything is expanded: trees come
 * from the bucket, and a small DAG of shared subtrees names paths by the billion.
 */
function checkSize(root: Tree, getTree: (id: BlobId) => Tree): void {
  const sizes = new Map<BlobId, { count: number; height: number }>();
  const tooDeep = (): StrataError => new StrataError('E_BAD_TREE', `tree nests folders deeper than ${MAX_FLAT_DEPTH} levels`, {});
  const measure = (tree: Tree, depth: number): { count: number; height: number } => {
    if (depth > MAX_FLAT_DEPTH) throw tooDeep();
    let count = 0;
    let height = 0;
    for (const e of tree.entries) {
      count++;
      if (e.type !== 'dir') continue;
      let size = sizes.get(e.subtree);
      if (size === undefined) {
        size = measure(getTree(e.subtree), depth + 1);
        sizes.set(e.subtree, size);
      } else if (depth + 1 + size.height > MAX_FLAT_DEPTH) throw tooDeep();
      count += size.count;
      height = Math.max(height, size.height + 1);
      if (count > MAX_FLAT_ENTRIES) throw new StrataError('E_BAD_TREE', `tree names more than ${MAX_FLAT_ENTRIES} paths (shared subtrees)`, {});
    }
    return { count, height };
  };
  measure(root, 0);
}

/**
 * The flat tree of a loaded Merkle tree. `contentOf` may be replaced (e.g. by a cache); it must
 * keep "equal content ⇔ equal key". Refuses names that would not be a single path component,
 * although the repository reader validates them already: a flat path must mean one place; and
 * trees that name too many paths or nest too deep (checkSize).
 */
export function flatten(
  root: Tree,
  getTree: (id: BlobId) => Tree,
  contentOf: (e: FileEntry) => string = (e) => contentKey(e.chunks),
): Map<string, Node> {
  checkSize(root, getTree);
  const out = new Map<string, Node>();
  const walk = (tree: Tree, dir: string): void => {
    for (const e of tree.entries) {
      if (e.name === '' || e.name === '.' || e.name === '..' || e.name.includes('/') || e.name.includes('\0')) {
        throw new StrataError('E_BAD_PATH', `tree entry name ${JSON.stringify(e.name)} is not one path component`, { path: dir });
      }
      const path = joinPath(dir, e.name);
      if (e.type === 'file') out.set(path, fileNode(e, contentOf));
      else if (e.type === 'symlink') out.set(path, { type: 'symlink', target: e.target, mtimeMs: e.mtimeMs });
      else if (e.type === 'whiteout') out.set(path, { type: 'whiteout' });
      else if (e.type === 'dir') {
        out.set(path, { type: 'dir', mode: e.mode });
        walk(getTree(e.subtree), path);
      }
    }
  };
  walk(root, '');
  return out;
}

/**
 * flatten over the trees loaded into `trees`, keeping each file's chunk list in `chunks` under its
 * content key: what writing the flat tree back, or fetching its files, needs.
 */
export function flattenLoaded(trees: ReadonlyMap<BlobId, Tree>, root: BlobId, chunks: Map<string, readonly BlobId[]>): Map<string, Node> {
  const get = (id: BlobId): Tree => {
    const t = trees.get(id);
    if (t === undefined) throw new StrataError('E_INTERNAL', `tree ${id} was not loaded`);
    return t;
  };
  return flatten(get(root), get, (e) => {
    const key = contentKey(e.chunks);
    chunks.set(key, e.chunks);
    return key;
  });
}

/**
 * The entries of every dir of a flat tree, for writing Merkle trees back: dir path ('' = root) →
 * [name, node] sorted by name in code-unit order (the order Tree entries use). Dirs come deepest
 * first, so each subtree can be written (and get its id) before the dir that lists it. Whiteouts
 * are listed like files (they become WhiteoutEntry).
 */
export function directories(tree: FlatTree): Array<[dir: string, entries: Array<[name: string, node: Node]>]> {
  const byDir = new Map<string, Array<[string, Node]>>([['', []]]);
  for (const [path, node] of tree) {
    if (node.type === 'dir' && !byDir.has(path)) byDir.set(path, []);
    const parent = parentOf(path);
    let list = byDir.get(parent);
    if (list === undefined) {
      list = [];
      byDir.set(parent, list);
    }
    list.push([path.slice(parent === '' ? 0 : parent.length + 1), node]);
  }
  for (const list of byDir.values()) list.sort(([a], [b]) => compareStrings(a, b));
  const depth = (p: string) => (p === '' ? 0 : p.split('/').length);
  return [...byDir].sort(([a], [b]) => depth(b) - depth(a) || compareStrings(a, b));
}

/**
 * Files and symlinks in a tree: the count a mass-delete check compares deletes against. Whiteouts
 * do not count: they are never on a disk.
 */
export function countFiles(tree: FlatTree): number {
  let n = 0;
  for (const node of tree.values()) if (node.type === 'file' || node.type === 'symlink') n++;
  return n;
}

/**
 * The tree without its whiteouts: what a single layer looks like on a disk with nothing below it.
 * A well-formed tree stays well-formed (a whiteout never has anything under it).
 */
export function withoutWhiteouts(tree: FlatTree): Map<string, DiskNode> {
  const out = new Map<string, DiskNode>();
  for (const [p, n] of tree) if (n.type !== 'whiteout') out.set(p, n);
  return out;
}

/** Whether a tree holds any whiteout. */
export function hasWhiteouts(tree: FlatTree): boolean {
  for (const n of tree.values()) if (n.type === 'whiteout') return true;
  return false;
}
