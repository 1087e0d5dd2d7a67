/**
 * A template folder on a case-sensitive disk (Linux) may hold two names that differ only in case,
 * which no Windows or macOS machine can lay. Where the layer's machines fold case, a template (a
 * preload's, or a published org layer's folder) is written as one of them would sync that folder
 * (plan/casefold.ts): the name that sorts first stays, the other goes beside it as its case
 * conflict copy, made by the admin device, and two folders become one. A template without such
 * names is written as it is.
 */
import { foldKey, foldLayerTree, flattenLoaded, type Conflict, type Node } from '../plan/index.js';
import type { Repository } from '../repo/index.js';
import type { BlobId } from '../repo/types.js';
import { writeFlatTree, type ChunkMap } from '../agent/trees.js';
import { loadAllTrees } from './load-trees.js';

/**
 * Two names that differ only in case, parted: `caseOf` holds one, and what was at `path` is now
 * `copy`. `caseOf` equals `path` where the two were files of the same name in two folders whose
 * names differ only in case, made one.
 */
export interface CasePair {
  path: string;
  copy: string;
  caseOf: string;
}

export async function partByCase(repo: Repository, root: BlobId, device: string, add: (id: BlobId, bytes: Uint8Array) => Promise<unknown>): Promise<{ root: BlobId; pairs: CasePair[] }> {
  const trees = await loadAllTrees(repo, [root]);
  const chunks: ChunkMap = new Map();
  const folded = foldLayerTree(flattenLoaded(trees, root, chunks), () => device);
  if (folded.conflicts.length === 0) return { root, pairs: [] };
  const pairs = folded.conflicts.map((c) => ({ path: c.path, copy: c.copy, caseOf: caseHolder(folded.tree, c) ?? c.path }));
  return { root: await writeFlatTree(repo, folded.tree, chunks, add), pairs };
}

/**
 * For a case conflict of a folded `tree` (one whose names never differ only in case), the name
 * the tree holds the other version at; undefined for a conflict of another reason.
 */
export function caseHolder(tree: ReadonlyMap<string, Node>, c: Conflict): string | undefined {
  if (c.reason !== 'case') return undefined;
  const key = foldKey(c.path);
  for (const [p, node] of tree) if (node.type !== 'whiteout' && foldKey(p) === key) return p;
  return undefined;
}
