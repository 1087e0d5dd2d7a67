/**
 * A template merged into a user layer, on the planner's flat trees (sync/plan).
 *
 * - templateOver(lower, template): the template laid over a tree, winning on every path it has
 *   (a template file where the tree has a dir drops what the dir held); paths it lacks stay. A
 *   template entry of the same bytes (or target) and mode as the tree's keeps the tree's node: an
 *   admin's copy of a template touches mtimes, and a touch must not count as a new version (it
 *   would bring back a file the user deleted, DESIGN §3's edit vs delete). Case-insensitively, a
 *   path spelled otherwise than the template's takes the template's spelling (a rename).
 * - keepHiding(merged, layer, below): where the merge put a dir over a whiteout, file or symlink
 *   of the layer, the dir must go on hiding what the layers below show there, or a folder the user
 *   deleted comes back whole at the next sign-in: the dir gets a whiteout for each entry the
 *   layers below show in it that it lacks, at every level (the form the sync engine gives a folder
 *   the user deleted and made again: sync/overlay userView). merge3 sees one layer only and lets
 *   those show through; a preload knows the layers below, so it hides them.
 * - dropSupersededCopies(merged, was, record, layer, device): where a template brings a new
 *   version of a path whose last template version was kept as a conflict copy beside the user's
 *   (a keep-both of an earlier preload), that copy goes if the user left it as it was: the new
 *   version supersedes it (kept again beside the user's if both still differ), and a copy per
 *   template update would pile up beside a file the user did not touch again. A copy the user
 *   changed is theirs and stays; the old version stays in the layer's history.
 */
import { foldKey, sameContent, sameNode, type FlatTree, type Node } from '../plan/index.js';
import { conflictName, conflictStamp, copyTails } from '../plan/conflict-name.js';
import { baseName, joinPath, mtimeOf, parentOf } from '../plan/nodes.js';

/**
 * What the layers below a user layer show in dir `dir` ('' is the root): each name, and whether
 * it is a dir there; undefined where they show no dir.
 */
export type BelowDirs = (dir: string) => Promise<ReadonlyMap<string, boolean> | undefined>;

/** Same version but for the mtime: a file's bytes and mode, a symlink's target, a dir's mode. */
function sameButMtime(a: Node | undefined, b: Node): boolean {
  if (a?.type === 'file' && b.type === 'file') return a.content === b.content && a.mode === b.mode;
  if (a?.type === 'symlink' && b.type === 'symlink') return a.target === b.target;
  if (a?.type === 'dir' && b.type === 'dir') return a.mode === b.mode;
  return false;
}

/**
 * `template` laid over `lower` (see the header). Both must be well-formed; so is the result.
 * `caseInsensitive`: a path of `lower` that equals one of the template's under case folding but
 * for its spelling takes the template's (a rename of the template's: `Readme.txt` over an earlier
 * template's `README.txt` must not leave two names one machine cannot hold); what a renamed dir
 * holds moves with it.
 */
export function templateOver(lower: FlatTree, template: FlatTree, caseInsensitive = false): Map<string, Node> {
  const out = caseInsensitive ? respell(lower, template) : new Map(lower);
  const replacedDirs: string[] = [];
  for (const [path, node] of template) {
    const was = out.get(path);
    if (sameButMtime(was, node)) continue;
    if (was?.type === 'dir' && node.type !== 'dir') replacedDirs.push(`${path}/`);
    out.set(path, node);
  }
  if (replacedDirs.length > 0) for (const p of out.keys()) if (replacedDirs.some((d) => p.startsWith(d))) out.delete(p);
  return out;
}

/** `lower` with each path's leading segments spelled as the template spells them, where they fold equal. */
function respell(lower: FlatTree, template: FlatTree): Map<string, Node> {
  const spelling = new Map([...template.keys()].map((p) => [foldKey(p), p]));
  const out = new Map<string, Node>();
  for (const [path, node] of lower) {
    const parts = path.split('/');
    let at = '';
    for (let i = 0; i < parts.length; i++) {
      const mine = joinPath(at, parts[i] as string);
      const theirs = spelling.get(foldKey(mine));
      at = theirs !== undefined && parentOf(theirs) === at ? theirs : mine;
    }
    // Two paths of lower spelled one way now: the one already spelled so stays.
    if (at === path || !out.has(at)) out.set(at, node);
  }
  return out;
}

/** Adds to `merged` the whiteouts that keep hiding what `layer` hid below (see the header). */
export async function keepHiding(merged: Map<string, Node>, layer: FlatTree, below: BelowDirs): Promise<void> {
  const hide = async (dir: string): Promise<void> => {
    const shown = await below(dir);
    if (shown === undefined) return;
    for (const [name, isDir] of shown) {
      const path = joinPath(dir, name);
      const node = merged.get(path);
      if (node === undefined) merged.set(path, { type: 'whiteout' });
      else if (node.type === 'dir' && isDir) await hide(path);
    }
  };
  const overHidden = [...merged].filter(([path, node]) => node.type === 'dir' && layer.get(path) !== undefined && layer.get(path)?.type !== 'dir');
  for (const [path] of overHidden) await hide(path);
}

/**
 * Removes from `merged` the conflict copies of `device` that `was` (the template record before
 * this preload) names for a path `record` (the record after it) changed, where the layer still
 * holds them as that record wrote them (see the header). A copy's name is the one merge3 gave the
 * record's version: its mtime, `device`, and a counter.
 */
export function dropSupersededCopies(merged: Map<string, Node>, was: FlatTree, record: FlatTree, layer: FlatTree, device: string): void {
  const copies = copiesOf(layer, device);
  for (const [path, old] of was) {
    if (old.type !== 'file' && old.type !== 'symlink') continue;
    if (sameNode(record.get(path), old)) continue;
    const dir = parentOf(path);
    for (const { name, n } of copies.get(`${dir}\0${conflictStamp(mtimeOf(old))}`) ?? []) {
      if (conflictName(baseName(path), mtimeOf(old), device, n) !== name) continue;
      const copy = joinPath(dir, name);
      const held = layer.get(copy);
      if (!held || held.type !== old.type || !sameContent(held, old)) continue;
      if (sameNode(merged.get(copy), held)) merged.delete(copy);
    }
  }
}

/**
 * The names of `layer` that may be conflict copies `device` made, by folder and stamp (copyTails),
 * so that each path looks only at its own candidates: looking through every name of its folder
 * made a template update of a 20,000-file folder 400 million name comparisons.
 */
function copiesOf(layer: FlatTree, device: string): Map<string, { name: string; n: number }[]> {
  const out = new Map<string, { name: string; n: number }[]>();
  for (const p of layer.keys()) {
    const name = baseName(p);
    for (const { stamp, n } of copyTails(name, device)) {
      const key = `${parentOf(p)}\0${stamp}`;
      const list = out.get(key) ?? [];
      list.push({ name, n });
      out.set(key, list);
    }
  }
  return out;
}

/** Whether two flat trees hold the same nodes at the same paths. */
export function sameTree(a: FlatTree, b: FlatTree): boolean {
  if (a.size !== b.size) return false;
  for (const [path, node] of a) if (!sameNode(node, b.get(path))) return false;
  return true;
}
