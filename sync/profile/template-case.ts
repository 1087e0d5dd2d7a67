/**
 * A template folder on a case-sensitive disk (Linux) may hold two names that differ only in case,
 * which no Windows or macOS machine can lay. Where the layer's machines fold case, a template is
 * written as one of them would sync that folder (plan/casefold.ts): the name that sorts first
 * stays, the other goes beside it as its case conflict copy, made by the admin device, and two
 * folders become one. A template without such names is written as it is.
 */
import { foldLayerTree, flattenLoaded, type Conflict } from '../plan/index.js';
import type { Repository } from '../repo/index.js';
import type { BlobId } from '../repo/types.js';
import { writeFlatTree, type ChunkMap } from '../agent/trees.js';
import { loadAllTrees } from './load-trees.js';

export async function partByCase(repo: Repository, root: BlobId, device: string, add: (id: BlobId, bytes: Uint8Array) => Promise<unknown>): Promise<{ root: BlobId; conflicts: Conflict[] }> {
  const trees = await loadAllTrees(repo, [root]);
  const chunks: ChunkMap = new Map();
  const folded = foldLayerTree(flattenLoaded(trees, root, chunks), () => device);
  if (folded.conflicts.length === 0) return { root, conflicts: [] };
  return { root: await writeFlatTree(repo, folded.tree, chunks, add), conflicts: folded.conflicts };
}
