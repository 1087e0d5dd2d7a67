/**
 * `strata deletes` lists the running agent's folders whose pass waits because it would delete more
 * than half of their files (the mass-delete guard); `--confirm` lets it go ahead, `--restore` puts
 * the files back instead (Agent API confirmDeletes, restoreDeletes), as the UI's buttons do. The
 * folder may be left out when only one waits. A folder named is the agent's folder with the same
 * real path (either may be reached through a symlink), and the agent is asked with its own path.
 */
import { resolve } from 'node:path';
import type { FolderStatus } from '../../../shared/agent-api.js';
import { answerWords, notCarriedWords } from '../../../shared/status-text.js';
import { StrataError } from '../../errors.js';
import { usageError } from '../args.js';
import { folderNamed } from './folder-path.js';
import { connectAgent } from './status.js';
import { STATE_DIR_OPTION, type Command } from './command.js';

/** A held folder in a line: the deletes, and the user's answer if one waits for its pass. */
function describeHeld(f: FolderStatus, paused: boolean): string {
  const d = f.pendingDeletes;
  if (d === undefined) return '';
  return `${f.root}: ${d.files} of ${d.of} files deleted ${d.direction === 'local' ? 'on this machine' : 'on another machine'}, ${d.answer === undefined ? 'waiting' : answerWords(d.answer, paused)}`;
}

export const deletesCommand: Command = {
  name: 'deletes',
  summary: 'list mass deletes waiting for you; --confirm deletes the files everywhere, --restore puts them back',
  args: '[<folder>]',
  positionals: { min: 0, max: 1 },
  options: {
    confirm: { type: 'boolean', help: 'let the waiting pass delete the files, here and in the layer' },
    restore: { type: 'boolean', help: "put the files back instead: those the pass would delete and the hour's deletes before them" },
    'state-dir': STATE_DIR_OPTION,
  },
  async run(ctx) {
    const confirm = ctx.args.values.confirm === true;
    const restore = ctx.args.values.restore === true;
    if (confirm && restore) throw usageError('--confirm and --restore exclude each other', ctx.command);
    const agent = await connectAgent(ctx);
    const status = await agent.call('status', {});
    const held = status.folders.filter((f) => f.pendingDeletes !== undefined);
    if (!confirm && !restore) {
      // An answer that found nothing held any more is said too, until the folder holds deletes again.
      const notCarried = status.folders.filter((f) => f.notCarried !== undefined);
      if (ctx.json) return ctx.printJson([...held, ...notCarried].map((f) => ({ root: f.root, ...(f.pendingDeletes && { pendingDeletes: f.pendingDeletes }), ...(f.notCarried && { notCarried: f.notCarried }) })));
      const said = notCarried.map((f) => `${f.root}: ${notCarriedWords(f.notCarried!)}`);
      if (held.length === 0) return ctx.print(...said, 'no deletes waiting');
      const asking = held.some((f) => f.pendingDeletes?.answer === undefined);
      return ctx.print(...said, ...held.map((f) => describeHeld(f, status.paused)), ...(asking ? ['  answer with strata deletes [<folder>] --confirm or --restore'] : []));
    }
    const given = ctx.args.positionals[0];
    let folder: FolderStatus | undefined;
    if (given !== undefined) {
      folder = await folderNamed(status.folders, given);
      if (folder === undefined) throw usageError(`${resolve(given)} is not a folder the agent syncs (${status.folders.map((f) => f.root).join(', ') || 'none'})`, ctx.command);
    } else if (held.length === 1) folder = held[0];
    else if (held.length === 0) throw new StrataError('E_NOT_HELD', 'no folder waits for a mass-delete answer');
    else throw usageError(`${held.length} folders wait; name one: ${held.map((f) => f.root).join(', ')}`, ctx.command);
    if (folder?.pendingDeletes === undefined) throw new StrataError('E_NOT_HELD', 'no pass of this folder waits for a mass-delete answer', { path: folder?.root ?? resolve('.') });
    const root = folder.root;
    // The answer is for the hold just read: the agent refuses it if a pass has replaced that one since.
    const id = folder.pendingDeletes.id;
    const after = await agent.call(confirm ? 'confirmDeletes' : 'restoreDeletes', id === undefined ? { root } : { root, id });
    if (ctx.json) return ctx.printJson(after);
    const d = folder.pendingDeletes;
    ctx.print(confirm ? `${root}: deleting the ${d.files} files` : `${root}: putting the ${d.files} files back`);
  },
};
