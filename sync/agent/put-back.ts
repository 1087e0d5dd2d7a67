/**
 * Putting deleted files back: the user's other answer to a held mass delete (guard.ts). The files
 * the held pass would delete, and those the hour's passes in the same direction deleted, return to
 * the tree the pass lays, each as the tree it was deleted from had it. The pass then writes them
 * where the disk lacks them, and its snapshot gives them back to the layer, so they return on
 * every machine.
 *
 * Must hold: nothing present is replaced — a path the tree has now (edited or made again since)
 * keeps that version, and so does a path whose parent is no longer a dir; a path the pass must
 * leave alone (`hidden`) stays out; on a case-insensitive disk, a name that matches one present in
 * all but case is not put back.
 */
import { foldKey, type Node } from '../plan/index.js';

export interface PutBackSource {
  /** A disk tree (over the org layers) that has the files. */
  tree: ReadonlyMap<string, Node>;
  paths: readonly string[];
}

export interface PutBackOptions {
  hidden: (path: string, node: Node) => boolean;
  caseInsensitive?: boolean;
}

function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) out.push(path.slice(0, i));
  return out;
}

/** `tree` with the files of `sources` it lacks, and their folders; `restored`: how many files. */
export function putBack(tree: ReadonlyMap<string, Node>, sources: readonly PutBackSource[], opts: PutBackOptions): { tree: Map<string, Node>; restored: number } {
  const out = new Map(tree);
  const folded = opts.caseInsensitive ? new Map([...out.keys()].map((p) => [foldKey(p), p])) : undefined;
  const taken = (p: string): boolean => out.has(p) || (folded !== undefined && folded.has(foldKey(p)) && folded.get(foldKey(p)) !== p);
  let restored = 0;
  for (const { tree: from, paths } of sources) {
    for (const p of paths) {
      const node = from.get(p);
      if ((node?.type !== 'file' && node?.type !== 'symlink') || taken(p) || opts.hidden(p, node)) continue;
      const missing: [string, Node][] = [];
      let fits = true;
      for (const a of ancestors(p)) {
        const here = out.get(a);
        if (here !== undefined) {
          if (here.type !== 'dir') fits = false;
        } else {
          const dir = from.get(a);
          if (dir?.type !== 'dir' || taken(a)) fits = false;
          else missing.push([a, dir]);
        }
        if (!fits) break;
      }
      if (!fits) continue;
      for (const [a, dir] of [...missing, [p, node] as [string, Node]]) {
        out.set(a, dir);
        folded?.set(foldKey(a), a);
      }
      restored++;
    }
  }
  // In path order, as every flat tree is.
  return { tree: restored === 0 ? out : new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))), restored };
}
