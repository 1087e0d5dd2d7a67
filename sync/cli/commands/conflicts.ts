/**
 * `strata conflicts` lists the running agent's conflicts, folder by folder; `strata resolve <copy>
 * --keep name|copy` ends one (Agent API resolveConflict): "name" keeps the version that has the
 * name and deletes the copy, "copy" puts the copy's version in the name's place. The UI does the
 * same with its "Keep" buttons. The copy is named by its path, absolute or relative to the working
 * directory (folder-path.ts), or by its path inside its folder as `strata conflicts` shows it; a
 * path outside every folder of the agent is refused.
 */
import { isAbsolute, resolve } from 'node:path';
import type { ConflictInfo, FolderStatus } from '../../../shared/agent-api.js';
import { StrataError } from '../../errors.js';
import { requiredOption, usageError } from '../args.js';
import { locateInFolders } from './folder-path.js';
import { connectAgent } from './status.js';
import { STATE_DIR_OPTION, type Command } from './command.js';

export const conflictsCommand: Command = {
  name: 'conflicts',
  summary: "list the running agent's conflicts: each file's name and the copy holding its other version",
  args: '',
  positionals: { min: 0, max: 0 },
  options: { 'state-dir': STATE_DIR_OPTION },
  async run(ctx) {
    const status = await (await connectAgent(ctx)).call('status', {});
    if (ctx.json) return ctx.printJson(status.folders.map((f) => ({ root: f.root, conflicts: f.conflicts })));
    const lines = status.folders.flatMap((f) => f.conflicts.map((c) => `${f.root}: ${c.path} — other version in ${c.copy} (from ${c.device})`));
    ctx.print(...(lines.length > 0 ? lines : ['no conflicts']));
  },
};

export const resolveCommand: Command = {
  name: 'resolve',
  summary: 'end a conflict: --keep name keeps the version with the name, --keep copy the one in the copy',
  args: '<copy>',
  positionals: { min: 1, max: 1 },
  options: {
    keep: { type: 'string', value: 'name|copy', help: 'which version stays under the name (the other goes; it stays in the layer history)' },
    'state-dir': STATE_DIR_OPTION,
  },
  async run(ctx) {
    const given = ctx.args.positionals[0] as string;
    const keep = requiredOption(ctx.args, 'keep', ctx.command);
    if (keep !== 'name' && keep !== 'copy') throw usageError(`--keep must be "name" or "copy", got ${JSON.stringify(keep)}`, ctx.command);
    const agent = await connectAgent(ctx);
    const status = await agent.call('status', {});
    const { folder, conflict } = await conflictNamed(status.folders, given, ctx.command);
    const after = await agent.call('resolveConflict', { root: folder.root, copy: conflict.copy, keep });
    if (ctx.json) return ctx.printJson(after);
    ctx.print(keep === 'name' ? `kept ${conflict.path}; removed ${conflict.copy}` : `kept the version from ${conflict.copy} as ${conflict.path}`);
  },
};

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
