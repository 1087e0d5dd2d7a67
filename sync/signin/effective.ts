/**
 * The effective tree a sign-in lays onto home (DESIGN §1, §4): overlay(org layers…, user layer),
 * restricted to the org config's folders and without excluded paths, then split into what makes
 * the machine "ready" (hot paths and small files) and the rest, each laid from memory by the
 * restore (restore's MemoryTree).
 *
 * What must hold:
 * - a path is laid only if the folder's excluder (the agent's own: include list, built-in and org
 *   exclusions) admits it and every dir above it: restore and live sync agree on what the layer is;
 * - `hidden` lists the topmost paths a whiteout hides that the effective tree does not put back:
 *   they must not be on the disk after sign-in (a golden image may have them);
 * - `retired` lists the paths the trees this machine laid or synced before had (`history`) that
 *   no layer has now: an org layer dropped them, or another device deleted them. Only paths the
 *   folder's excluder admits are listed;
 * - both halves of the split hold every dir, so each is a well-formed tree on its own, and every
 *   file and symlink is in exactly one of them;
 * - on a case-insensitive disk, no two laid paths differ only in case (foldCase).
 */
import { overlay } from '../overlay/index.js';
import { foldForDisk, hasCaseCollisions, type Conflict, type DiskNode } from '../plan/index.js';
import type { Excluder } from '../watch/index.js';
import type { LayerStack } from './layers.js';

export interface Effective {
  tree: Map<string, DiskNode>;
  /** Topmost paths hidden by a whiteout and not in `tree`, sorted. */
  hidden: string[];
  /** Files, links and dirs of `history` that the layers no longer have and no whiteout hides, deepest first; 'dir' when any past tree had a dir there. */
  retired: { path: string; type: 'file' | 'symlink' | 'dir' }[];
  /** Every version the layers and their history have at a path (layers.ts `history`): a file's content key, a link's linkKey. */
  known: (path: string) => Set<string>;
}

/** How a link's target is named among `known` versions (apart from every content key). */
export function linkKey(target: string): string {
  return `symlink:${target}`;
}

function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

export function effectiveTree(stack: LayerStack, excluded: Excluder): Effective {
  const layers = [...stack.org, ...(stack.user ? [stack.user] : [])];
  const tree = new Map<string, DiskNode>();
  for (const [p, n] of overlay(layers.map((l) => l.tree))) {
    const parent = parentOf(p);
    if ((parent === '' || tree.get(parent)?.type === 'dir') && !excluded(p, n.type === 'dir')) tree.set(p, n);
  }
  const whiteouts = new Set<string>();
  for (const l of layers) for (const [p, n] of l.tree) if (n.type === 'whiteout') whiteouts.add(p);
  const hidden: string[] = [];
  for (const p of [...whiteouts].sort()) {
    if (tree.has(p) || excluded(p, false) || excluded(p, true)) continue;
    if (hidden.some((h) => p.startsWith(`${h}/`))) continue;
    hidden.push(p);
  }
  const hiddenBy = (p: string): boolean => hidden.some((h) => p === h || p.startsWith(`${h}/`));
  const admitted = new Map<string, boolean>([['', true]]);
  const admits = (p: string, isDir: boolean): boolean => {
    const known = admitted.get(p);
    if (known !== undefined) return known;
    const ok = admits(parentOf(p), true) && !excluded(p, isDir);
    admitted.set(p, ok);
    return ok;
  };
  const retired = new Map<string, 'file' | 'symlink' | 'dir'>();
  for (const past of stack.history) {
    for (const [p, n] of past) {
      if (n.type === 'whiteout' || tree.has(p) || hiddenBy(p) || !admits(p, n.type === 'dir')) continue;
      // Past trees may disagree on a path's kind (a higher org layer's file over a lower one's dir):
      // a dir in any of them is noted, and first contact goes by what the disk holds.
      if (!retired.has(p) || n.type === 'dir') retired.set(p, n.type);
    }
  }
  const all = [...layers.map((l) => l.tree), ...stack.history];
  const known = (path: string): Set<string> => {
    const versions = new Set<string>();
    for (const t of all) {
      const n = t.get(path);
      if (n?.type === 'file') versions.add(n.content);
      else if (n?.type === 'symlink') versions.add(linkKey(n.target));
    }
    return versions;
  };
  const deepestFirst = [...retired].map(([path, type]) => ({ path, type })).sort((a, b) => b.path.split('/').length - a.path.split('/').length || (a.path < b.path ? -1 : 1));
  return { tree, hidden, retired: deepestFirst, known };
}

/**
 * The effective tree made layable on a case-insensitive disk (Windows, macOS), where of two paths
 * that differ only in case the second laid would overwrite the first. A layer synced from a
 * case-sensitive machine can hold both, and so can an org layer and the user's. They are resolved
 * as live sync resolves its merges (plan/casefold.ts): dirs are united, and a colliding file is
 * laid as a conflict copy named after the layer it came from — the same on every machine. The
 * agent's first pass records the copy in the user layer.
 */
export function foldCase(effective: Effective, stack: LayerStack): { effective: Effective; conflicts: Conflict[] } {
  const topFirst = [...(stack.user ? [stack.user] : []), ...[...stack.org].reverse()];
  const layerOf = (p: string): string => topFirst.find((l) => l.tree.has(p))?.layer ?? 'layer';
  // Folders that only differ in case are united without a conflict copy: the tree changes all the same.
  if (!hasCaseCollisions(effective.tree.keys())) return { effective, conflicts: [] };
  const folded = foldForDisk(effective.tree, layerOf);
  return { effective: { ...effective, tree: folded.tree }, conflicts: folded.conflicts };
}

/** The "ready" half (every dir and symlink, hot files, files up to `smallBytes`) and the rest (every dir, the other files). */
export function splitReady(tree: ReadonlyMap<string, DiskNode>, isHot: (path: string) => boolean, smallBytes: number): { ready: Map<string, DiskNode>; rest: Map<string, DiskNode> } {
  const ready = new Map<string, DiskNode>();
  const rest = new Map<string, DiskNode>();
  let restFiles = 0;
  for (const [p, n] of tree) {
    if (n.type === 'dir') {
      ready.set(p, n);
      rest.set(p, n);
    } else if (n.type === 'symlink' || n.size <= smallBytes || isHot(p)) {
      ready.set(p, n);
    } else {
      rest.set(p, n);
      restFiles++;
    }
  }
  return { ready, rest: restFiles === 0 ? new Map() : rest };
}
