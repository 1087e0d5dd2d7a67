/**
 * `strata conflicts` lists the running agent's conflicts, folder by folder, each with a table of
 * its two versions (when modified, size, from which device); `strata resolve <copy>
 * --keep name|copy|both` ends one (Agent API resolveConflict): "name" keeps the version that has
 * the name and deletes the copy, "copy" puts the copy's version in the name's place, "both" keeps
 * the two, the copy renamed beside the name (the answer says its new name); with
 * `--all [<folder>]` instead of a copy, every conflict of the folder goes the same way. The UI does
 * the same with its "Keep" buttons. The copy is named by its path, absolute or relative to the working
 * directory (folder-path.ts), or by its path inside its folder as `strata conflicts` shows it; a
 * path outside every folder of the agent is refused.
 */
import { isAbsolute, resolve } from 'node:path';
import { KEEP_SIDES, type ConflictInfo, type FolderStatus, type VersionInfo } from '../../../shared/agent-api.js';
import { StrataError } from '../../errors.js';
import { requiredOption, usageError } from '../args.js';
import { columns, formatBytes, formatTime } from '../format.js';
import { folderNamed, locateInFolders } from './folder-path.js';
import { connectAgent } from './status.js';
import { STATE_DIR_OPTION, type Command } from './command.js';
import type { Context } from '../context.js';

export const conflictsCommand: Command = {
  name: 'conflicts',
  summary: "list the running agent's conflicts: both versions of each file (the name's and the copy's), when modified, size, device",
  args: '',
  positionals: { min: 0, max: 0 },
  options: { 'state-dir': STATE_DIR_OPTION },
  async run(ctx) {
    const status = await (await connectAgent(ctx)).call('status', {});
    if (ctx.json) return ctx.printJson(status.folders.map((f) => ({ root: f.root, conflicts: f.conflicts })));
    const blocks = status.folders.flatMap((f) => f.conflicts.map((c) => [`${f.root}: ${c.path}`, ...versionLines(c, status.deviceId), '']));
    if (blocks.length === 0) return ctx.print('no conflicts');
    ctx.print(...blocks.flat(), 'end one with strata resolve <copy> --keep name|copy|both, or all of a folder\'s with strata resolve --all <folder> --keep …');
  },
};

/**
 * A conflict's two versions, as the UI's table shows them (renderer/conflicts.ts): when each was
 * modified, its size, the device it came from; each row says which --keep keeps it. A version
 * the last scan did not find says so; so does a conflict listed before the agent's first scan.
 */
function versionLines(c: ConflictInfo, deviceId: string): string[] {
  const rows = [
    ['KEEP', 'FILE', 'MODIFIED', 'SIZE', 'FROM'],
    ['name', c.path, ...details(c, c.versions?.name), 'not recorded'],
    ['copy', c.copy, ...details(c, c.versions?.copy), c.device === deviceId ? `${c.device} (this device)` : c.device],
  ];
  return columns(rows).map((l) => `  ${l}`.trimEnd());
}

/** A version's MODIFIED and SIZE: as the last scan saw it, or why there is nothing to show. */
function details(c: ConflictInfo, v: VersionInfo | undefined): [string, string] {
  if (c.versions === undefined) return ['not scanned yet', '-'];
  if (v === undefined) return ['not on the disk', '-'];
  return [v.mtime === undefined ? 'unknown' : formatTime(v.mtime), sizeOf(v)];
}

function sizeOf(v: VersionInfo): string {
  if (v.kind === 'dir') return 'folder';
  if (v.kind === 'symlink') return 'link';
  return v.size === undefined ? 'unknown' : formatBytes(v.size);
}

export const resolveCommand: Command = {
  name: 'resolve',
  summary: 'end a conflict: --keep name keeps the version with the name, copy the one in the copy, both the two (the copy renamed beside it); --all ends every conflict of a folder so',
  args: '<copy> | --all [<folder>]',
  positionals: { min: 0, max: 1 },
  options: {
    keep: { type: 'string', value: 'name|copy|both', help: 'which version stays under the name (the other goes; it stays in the layer history), or both: the copy becomes an ordinary file beside it, "name (device YYYY-MM-DD HH.MM).ext"' },
    all: { type: 'boolean', help: 'end every conflict of <folder> (left out: of the one folder that lists conflicts) the same way; one that cannot be ended is said, the rest go on' },
    'state-dir': STATE_DIR_OPTION,
  },
  async run(ctx) {
    const given = ctx.args.positionals[0];
    const keep = requiredOption(ctx.args, 'keep', ctx.command);
    if (!(KEEP_SIDES as readonly string[]).includes(keep)) throw usageError(`--keep must be "name", "copy" or "both", got ${JSON.stringify(keep)}`, ctx.command);
    if (ctx.args.values.all === true) return resolveAll(ctx, keep, given);
    if (given === undefined) throw usageError('name the conflict copy to resolve, or give --all', ctx.command);
    const agent = await connectAgent(ctx);
    const status = await agent.call('status', {});
    const { folder, conflict } = await conflictNamed(status.folders, given, ctx.command);
    const after = await agent.call('resolveConflict', { root: folder.root, copy: conflict.copy, keep });
    if (ctx.json) return ctx.printJson(after);
    if (keep === 'both') return ctx.print(`kept both: ${conflict.path}, and the other version as ${after.besideAs ?? '?'}`);
    ctx.print(keep === 'name' ? `kept ${conflict.path}; removed ${conflict.copy}` : `kept the version from ${conflict.copy} as ${conflict.path}`);
  },
};

/**
 * `resolve --all [<folder>] --keep …`: every conflict of the folder, ended in one command
 * (resolveConflicts). Each one left is said on a line of its own; then it fails (exit 1), saying
 * how many were left.
 */
async function resolveAll(ctx: Context, keep: string, given: string | undefined): Promise<number | void> {
  const agent = await connectAgent(ctx);
  const status = await agent.call('status', {});
  const folder = given === undefined ? onlyConflicted(status.folders, ctx.command) : await folderNamed(status.folders, given);
  if (folder === undefined) throw usageError(`${resolve(given ?? '.')} is not a folder the agent syncs (${status.folders.map((f) => f.root).join(', ') || 'none'})`, ctx.command);
  if (folder === null) return ctx.print('no conflicts');
  const r = await agent.call('resolveConflicts', { root: folder.root, keep });
  if (ctx.json) {
    ctx.printJson(r);
    return r.failed.length > 0 ? 1 : undefined;
  }
  const ended = r.resolved.length;
  if (keep === 'both') ctx.print(...r.resolved.map((c) => `kept both: ${c.path}, and the other version as ${c.besideAs ?? '?'}`));
  else if (ended > 0) ctx.print(`${folder.root}: kept ${keep === 'name' ? 'the version with the name' : "the copy's version under the name"} of ${ended} conflict${ended === 1 ? '' : 's'}`);
  if (ended === 0 && r.failed.length === 0) ctx.print(`${folder.root}: no conflicts`);
  for (const f of r.failed) ctx.warn(new StrataError(f.error.code as `E_${string}`, f.error.message, { path: f.error.path ?? f.copy }));
  if (r.failed.length > 0) throw new StrataError('E_NOT_RESOLVED', `${r.failed.length} of ${r.failed.length + ended} conflicts were left as they were (each said above)`, { path: folder.root });
}

/** The one folder that lists conflicts; null when none does. */
function onlyConflicted(folders: readonly FolderStatus[], command: string): FolderStatus | null {
  const listing = folders.filter((f) => f.conflicts.length > 0);
  if (listing.length > 1) throw usageError(`${listing.length} folders list conflicts; name one: ${listing.map((f) => f.root).join(', ')}`, command);
  return listing[0] ?? null;
}

/**
 * The conflict whose copy `given` names: the path the shell meant, where it lies inside a folder;
 * else a path inside a folder, as `strata conflicts` shows it.
 */
async function conflictNamed(folders: readonly FolderStatus[], given: string, command: string): Promise<{ folder: FolderStatus; conflict: ConflictInfo }> {
  const listed = (f: FolderStatus, copy: string) => {
    const conflict = f.conflicts.find((c) => c.copy === copy);
    return conflict && { folder: f, conflict };
  };
  const at = await locateInFolders(folders.map((f) => f.root), given);
  const here = at && listed(folders.find((f) => f.root === at.root) as FolderStatus, at.rel);
  if (here) return here;
  for (const f of isAbsolute(given) ? [] : folders) {
    const found = listed(f, given);
    if (found) return found;
  }
  if (at === undefined) throw usageError(`${resolve(given)} is outside every folder the agent syncs (${folders.map((f) => f.root).join(', ') || 'none'}), and no folder lists it as a copy inside it`, command);
  throw new StrataError('E_NO_CONFLICT', 'the agent lists no such conflict copy (strata conflicts shows them)', { path: resolve(given) });
}
