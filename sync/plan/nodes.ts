/**
 * Small pure helpers over nodes and layer paths shared by the merge and the disk plan: equality,
 * the total order that picks a winner between concurrent versions, and POSIX path arithmetic.
 */
import type { FlatTree, Node } from './types.js';

/** Code-unit order, the same order trees sort their entries in. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A string that is equal for two nodes exactly when every field is equal. */
export function nodeKey(n: Node | undefined): string {
  if (n === undefined) return '-';
  switch (n.type) {
    case 'file':
      return `f:${n.content}:${n.size}:${n.mode}:${n.mtimeMs}`;
    case 'dir':
      return `d:${n.mode}`;
    case 'symlink':
      return `l:${n.mtimeMs ?? ''}:${n.target}`;
    case 'whiteout':
      return 'w';
    default:
      throw new TypeError(`unknown node kind ${JSON.stringify((n as { type: unknown }).type)}`);
  }
}

/** nodeKey(a) === nodeKey(b), without building the keys (the planner compares every path of a tree). */
export function sameNode(a: Node | undefined, b: Node | undefined): boolean {
  if (a === undefined || b === undefined || a.type !== b.type) return nodeKey(a) === nodeKey(b);
  switch (a.type) {
    case 'file': {
      const o = b as typeof a;
      return a.content === o.content && a.size === o.size && a.mode === o.mode && a.mtimeMs === o.mtimeMs;
    }
    case 'dir':
      return a.mode === (b as typeof a).mode;
    case 'symlink': {
      const o = b as typeof a;
      return a.target === o.target && a.mtimeMs === o.mtimeMs;
    }
    default:
      return nodeKey(a) === nodeKey(b);
  }
}

/**
 * Same kind and same bytes (or link target); metadata (mode, mtime) may differ. Dirs always match,
 * and so do whiteouts (a whiteout is like a file with one fixed content).
 */
export function sameContent(a: Node | undefined, b: Node | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.type === 'file' && b.type === 'file') return a.content === b.content;
  if (a.type === 'symlink' && b.type === 'symlink') return a.target === b.target;
  return a.type === b.type && (a.type === 'dir' || a.type === 'whiteout');
}

export function mtimeOf(n: Node): number {
  return n.type === 'file' || n.type === 'symlink' ? (n.mtimeMs ?? 0) : 0;
}

/** A version of a path: a node and the device that made it. */
export interface Version {
  node: Node;
  device: string;
}

/**
 * The total order between concurrent versions: later mtime, then greater device id, then greater
 * content, then the full node. It never depends on which side is "mine", so both devices of a
 * concurrent pair pick the same winner.
 */
export function compareVersions(a: Version, b: Version): number {
  return (
    Math.sign(mtimeOf(a.node) - mtimeOf(b.node)) ||
    compareStrings(a.device, b.device) ||
    compareStrings(contentOf(a.node), contentOf(b.node)) ||
    compareStrings(nodeKey(a.node), nodeKey(b.node))
  );
}

function contentOf(n: Node): string {
  return n.type === 'file' ? n.content : n.type === 'symlink' ? n.target : '';
}

export function newer(a: Version, b: Version): Version {
  return compareVersions(a, b) >= 0 ? a : b;
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function joinPath(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

/** Proper ancestors of a path, outermost first ('' excluded). */
export function ancestorsOf(path: string): string[] {
  const out: string[] = [];
  for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) out.push(path.slice(0, i));
  return out;
}

/** Every key of the given trees once, sorted so that a dir comes before everything inside it. */
export function unionPaths(...trees: FlatTree[]): string[] {
  const all = new Set<string>();
  for (const t of trees) for (const p of t.keys()) all.add(p);
  return [...all].sort(compareStrings);
}
