/**
 * `strata ls --layer <id> [--snapshot <id>] [path]`: the entries of a snapshot, recursively, in
 * path order. Trees are fetched a level at a time so that a deep listing costs few requests.
 */
import { StrataError } from '../../errors.js';
import type { Repository } from '../../repo/index.js';
import type { BlobId, Tree, TreeEntry } from '../../repo/types.js';
import { usageError } from '../args.js';
import { columns, formatMode, formatTime, shortId } from '../format.js';
import { resolveSnapshot, snapshotOption } from '../resolve.js';
import { LAYER_OPTION, SNAPSHOT_OPTION, type Command } from './command.js';

interface Listed {
  path: string;
  entry: TreeEntry;
}

/** Every tree below `roots`, loaded level by level with coalesced reads. */
async function loadAll(repo: Repository, roots: BlobId[]): Promise<Map<BlobId, Tree>> {
  const trees = new Map<BlobId, Tree>();
  let level = roots;
  while (level.length > 0) {
    const next: BlobId[] = [];
    await repo.loadTrees(level, (id, tree) => {
      trees.set(id, tree);
      for (const e of tree.entries) if (e.type === 'dir' && !trees.has(e.subtree)) next.push(e.subtree);
    });
    level = [...new Set(next)].filter((id) => !trees.has(id));
  }
  return trees;
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

/** Follows `parts` from the root tree: the entry they name, or undefined for the root itself. */
async function find(repo: Repository, root: BlobId, parts: string[]): Promise<TreeEntry | undefined> {
  let tree = await repo.loadTree(root);
  let entry: TreeEntry | undefined;
  for (const [i, name] of parts.entries()) {
    const path = parts.slice(0, i + 1).join('/');
    entry = tree.entries.find((e) => e.name === name);
    if (!entry) throw new StrataError('E_PATH_NOT_FOUND', 'no such path in the snapshot', { path });
    if (i < parts.length - 1) {
      if (entry.type !== 'dir') throw new StrataError('E_PATH_NOT_FOUND', 'not a directory in the snapshot', { path });
      tree = await repo.loadTree(entry.subtree);
    }
  }
  return entry;
}

function jsonEntry({ path, entry: e }: Listed) {
  return {
    path,
    type: e.type,
    mode: e.type === 'file' || e.type === 'dir' ? e.mode : null,
    size: e.type === 'file' ? e.size : null,
    mtime: e.type === 'whiteout' ? null : new Date(e.mtimeMs).toISOString(),
    ...(e.type === 'symlink' ? { target: e.target } : {}),
  };
}

function textRow({ path, entry: e }: Listed): string[] {
  const mode = formatMode(e.type, e.type === 'file' || e.type === 'dir' ? e.mode : undefined);
  const size = e.type === 'file' ? String(e.size) : '-';
  const mtime = e.type === 'whiteout' ? '-' : formatTime(e.mtimeMs);
  const shown = e.type === 'dir' ? `${path}/` : e.type === 'symlink' ? `${path} -> ${e.target}` : path;
  return [e.type, mode, size, mtime, shown];
}

export const lsCommand: Command = {
  name: 'ls',
  summary: 'list the files of a snapshot recursively (type, mode, size, mtime, path)',
  args: '[path]',
  positionals: { min: 0, max: 1 },
  options: { layer: LAYER_OPTION, snapshot: SNAPSHOT_OPTION },
  async run(ctx) {
    const layer = ctx.layer;
    const wanted = snapshotOption(ctx.args, ctx.command);
    const parts = pathParts(ctx.args.positionals[0] ?? '');
    const repo = await ctx.openRepository();
    const { id, snapshot } = await resolveSnapshot(repo, layer, wanted);
    const listed: Listed[] = [];
    const entry = await find(repo, snapshot.root, parts);
    const base = parts.join('/');
    if (entry) listed.push({ path: base, entry });
    const dirTree = entry === undefined ? snapshot.root : entry.type === 'dir' ? entry.subtree : undefined;
    if (dirTree) walk(await loadAll(repo, [dirTree]), dirTree, base ? `${base}/` : '', listed);
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
