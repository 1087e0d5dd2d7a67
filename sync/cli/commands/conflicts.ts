/**
 * `strata conflicts` lists the running agent's conflicts, folder by folder; `strata resolve <copy>
 * --keep name|copy` ends one (Agent API resolveConflict): "name" keeps the version that has the
 * name and deletes the copy, "copy" puts the copy's version in the name's place. The folder is the
 * one whose status lists the copy. The UI does the same with its "Keep" buttons.
 */
import { StrataError } from '../../errors.js';
import { requiredOption, usageError } from '../args.js';
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
    const copy = ctx.args.positionals[0] as string;
    const keep = requiredOption(ctx.args, 'keep', ctx.command);
    if (keep !== 'name' && keep !== 'copy') throw usageError(`--keep must be "name" or "copy", got ${JSON.stringify(keep)}`, ctx.command);
    const agent = await connectAgent(ctx);
    const status = await agent.call('status', {});
    const folder = status.folders.find((f) => f.conflicts.some((c) => c.copy === copy));
    const conflict = folder?.conflicts.find((c) => c.copy === copy);
    if (folder === undefined || conflict === undefined) throw new StrataError('E_NO_CONFLICT', 'the agent lists no such conflict copy (strata conflicts shows them, as paths inside their folder)', { path: copy });
    const after = await agent.call('resolveConflict', { root: folder.root, copy, keep });
    if (ctx.json) return ctx.printJson(after);
    ctx.print(keep === 'name' ? `kept ${conflict.path}; removed ${copy}` : `kept the version from ${copy} as ${conflict.path}`);
  },
};
