/**
 * `strata ls --layer <id> [--snapshot <id>] [path]`: the entries of a snapshot, recursively, in
 * path order. Trees are fetched a level at a time so that a deep listing costs few requests, and
 * a tree no restore would lay (too deep, or naming too many paths) is refused before listing.
 * Without --store, the signed-in user's layer, the path under home (signed-in.ts).
 */
import { StrataError } from '../../errors.js';
import { refIn, type Repository, type TreeRef } from '../../repo/index.js';
import { keys, type BlobId, type Tree, type TreeEntry } from '../../repo/types.js';
import { MAX_DEPTH, MAX_PLAN_ENTRIES } from '../../restore/index.js';
import { usageError } from '../args.js';
import { columns, formatMode, formatTime, shortId } from '../format.js';
import { resolveSnapshot, snapshotOption } from '../resolve.js';
import { PIT_LAYER_OPTION, PIT_STATE_DIR_OPTION, homePath, openSource, signedInSession } from '../signed-in.js';
import { SNAPSHOT_OPTION, type Command } from './command.js';

interface Listed {
  path: string;
  entry: TreeEntry;
}

/**
 * Every tree below `root`, loaded level by level with coalesced reads. Trees are untrusted: one
 * nested deeper than a restore would lay (MAX_DEPTH below `depth`, the folder's own) is refused.
 */
async function loadAll(repo: Repository, root: BlobId, ref: TreeRef, depth: number): Promise<Map<BlobId, Tree>> {
  const trees = new Map<BlobId, Tree>();
  const refOf = (id: BlobId) => refIn(trees, [[root, ref]], id);
  let level = [root];
  for (let d = depth; level.length > 0; d++) {
    if (d > MAX_DEPTH) throw badTree(repo, level[0] as BlobId, `folders nest deeper than ${MAX_DEPTH} levels`);
    const next: BlobId[] = [];
    await repo.loadTrees(level, (id, tree) => {
      trees.set(id, tree);
      for (const e of tree.entries) if (e.type === 'dir' && !trees.has(e.subtree)) next.push(e.subtree);
    }, { refOf });
    level = [...new Set(next)].filter((id) => !trees.has(id));
  }
  return trees;
}

function badTree(repo: Repository, id: BlobId, why: string): StrataError {
  const loc = repo.blobLocation(id);
  return new StrataError('E_BAD_TREE', why, loc ? { key: keys.pack(loc.pack) } : {});
}

/**
 * How many paths the walk below `id` would list, counted per distinct tree: a few shared subtrees
 * can name billions of paths, which must be refused (as a restore does) before any is listed.
 */
function countPaths(trees: Map<BlobId, Tree>, id: BlobId, memo: Map<BlobId, number>): number {
  const known = memo.get(id);
  if (known !== undefined) return known;
  let n = 0;
  for (const e of trees.get(id)?.entries ?? []) n += 1 + (e.type === 'dir' ? countPaths(trees, e.subtree, memo) : 0);
  // Capped, so that the sums stay exact numbers whatever the tree claims.
  n = Math.min(n, MAX_PLAN_ENTRIES + 1);
  memo.set(id, n);
  return n;
}

function walk(trees: Map<BlobId, Tree>, id: BlobId, prefix: string, out: Listed[]): void {
  for (const entry of trees.get(id)?.entries ?? []) {
    const path = prefix + entry.name;
    out.push({ path, entry });
    if (entry.type === 'dir') walk(trees, entry.subtree, `${path}/`, out);
  }
}

/** The parts of the optional path argument; "" and "." name the root. */
function pathParts(path: string): string[] {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw usageError(`path ${JSON.stringify(path)} must not contain ".."`, 'ls');
  return parts;
}

/**
 * Follows `parts` from the root tree (named by `rootRef`): the entry they name, or undefined for
 * the root itself, and what names the entry's subtree (for a dir). It loads only the trees it looks
 * a name up in, not the one it ends at: the listing loads that one (the root, without a path).
 */
async function find(repo: Repository, root: BlobId, rootRef: TreeRef, parts: string[]): Promise<{ entry: TreeEntry | undefined; ref: TreeRef }> {
  let at = root;
  let entry: TreeEntry | undefined;
  let ref = rootRef;
  for (const [i, name] of parts.entries()) {
    const path = parts.slice(0, i + 1).join('/');
    entry = (await repo.loadTree(at, ref)).entries.find((e) => e.name === name);
    if (!entry) throw new StrataError('E_PATH_NOT_FOUND', 'no such path in the snapshot', { path });
    ref = { path, parent: at };
    if (i < parts.length - 1) {
      if (entry.type !== 'dir') throw new StrataError('E_PATH_NOT_FOUND', 'not a directory in the snapshot', { path });
      at = entry.subtree;
    }
  }
  return { entry, ref };
}

/** A whiteout has no time, and a folder the agent wrote has none it knows (mtime 0: agent/trees.ts). */
function knownTime(e: TreeEntry): e is Exclude<TreeEntry, { type: 'whiteout' }> {
  return e.type !== 'whiteout' && !(e.type === 'dir' && e.mtimeMs === 0);
}

function jsonEntry({ path, entry: e }: Listed) {
  return {
    path,
    type: e.type,
    mode: e.type === 'file' || e.type === 'dir' ? e.mode : null,
    size: e.type === 'file' ? e.size : null,
    mtime: knownTime(e) ? new Date(e.mtimeMs).toISOString() : null,
    ...(e.type === 'symlink' ? { target: e.target } : {}),
  };
}

function textRow({ path, entry: e }: Listed): string[] {
  const mode = formatMode(e.type, e.type === 'file' || e.type === 'dir' ? e.mode : undefined);
  const size = e.type === 'file' ? String(e.size) : '-';
  const mtime = knownTime(e) ? formatTime(e.mtimeMs) : '-';
  const shown = e.type === 'dir' ? `${path}/` : e.type === 'symlink' ? `${path} -> ${e.target}` : path;
  return [e.type, mode, size, mtime, shown];
}

export const lsCommand: Command = {
  name: 'ls',
  summary: 'list the files of a snapshot recursively (type, mode, size, mtime, path)',
  args: '[path]',
  positionals: { min: 0, max: 1 },
  globals: ['store'],
  options: { layer: PIT_LAYER_OPTION, snapshot: SNAPSHOT_OPTION, 'state-dir': PIT_STATE_DIR_OPTION },
  async run(ctx) {
    const signed = await signedInSession(ctx);
    const wanted = snapshotOption(ctx.args, ctx.command);
    const raw = ctx.args.positionals[0] ?? '';
    const parts = pathParts(signed ? homePath(signed.session, raw, ctx.command) : raw);
    const { layer } = await openSource(ctx, signed);
    const repo = await ctx.openRepository();
    const { id, snapshot } = await resolveSnapshot(repo, layer, wanted);
    const listed: Listed[] = [];
    const { entry, ref } = await find(repo, snapshot.root, { path: '', key: keys.snapshot(layer, id) }, parts);
    const base = parts.join('/');
    if (entry) listed.push({ path: base, entry });
    const dirTree = entry === undefined ? snapshot.root : entry.type === 'dir' ? entry.subtree : undefined;
    if (dirTree) {
      const trees = await loadAll(repo, dirTree, ref, parts.length);
      if (countPaths(trees, dirTree, new Map()) > MAX_PLAN_ENTRIES) throw badTree(repo, dirTree, `the tree names more than ${MAX_PLAN_ENTRIES} paths`);
      walk(trees, dirTree, base ? `${base}/` : '', listed);
    }
    if (ctx.json) {
      ctx.printJson({ layer, snapshot: id, path: base, entries: listed.map(jsonEntry) });
      return;
    }
    if (listed.length === 0) {
      ctx.print(`snapshot ${shortId(id)} of ${layer} is empty`);
      return;
    }
    ctx.print(...columns(listed.map(textRow), new Set([2])));
  },
};
