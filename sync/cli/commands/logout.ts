/**
 * `strata logout [--wipe]`: signs this machine out (DESIGN §4). Flushes pending changes — through
 * the running agent if there is one (which is then stopped), else with one sync pass here — then
 * removes the credentials from the keychain and the session. `--wipe` (VDI sessions only) then
 * removes from the layer's folders under home what the bucket has, and names what it kept. A flush that fails signs nothing out; one that cannot
 * run because the credentials are already gone (an earlier logout cut off) is said, and the
 * sign-out finishes, leaving the changes on disk.
 */
import { reportSettings } from './lay-output.js';
import { signOut } from '../../signin/index.js';
import { openChunkPool } from '../chunker.js';
import { STATE_DIR_OPTION, stateDirOf, type Command } from './command.js';

export const logoutCommand: Command = {
  name: 'logout',
  summary: 'sign out: flush pending changes, stop the agent, forget the credentials (--wipe: and the local copy, VDI only)',
  args: '',
  positionals: { min: 0, max: 0 },
  options: {
    wipe: { type: 'boolean', help: "after the flush, remove from the layer's folders under home what the bucket has; the rest (excluded, changed since) is kept and named (VDI sessions only)" },
    'state-dir': STATE_DIR_OPTION,
  },
  async run(ctx) {
    const r = await signOut({ stateDir: stateDirOf(ctx), wipe: ctx.args.values.wipe === true, chunker: openChunkPool(ctx), onSettings: (e) => reportSettings(ctx, e) });
    if (ctx.json) {
      ctx.printJson(r);
      return;
    }
    if (r.wipeFinished) {
      ctx.print(`finished the wipe of ${r.user}'s sign-out (${r.org}), which was cut off`);
      if (r.wiped.length > 0) ctx.print(`  wiped: ${r.wiped.join(', ')}`);
      if (r.kept.length > 0) ctx.print(`  kept, not in the bucket (excluded, not syncable, or changed since the flush): ${r.kept.join(', ')}`);
      return;
    }
    const how = r.flushed === 'agent' ? 'flushed by the running agent, which was stopped' : r.flushed === 'pass' ? `flushed${r.snapshot ? ` (snapshot ${r.snapshot.slice(0, 12)})` : ''}` : 'nothing to flush';
    ctx.print(`signed out ${r.user} (${r.org}): ${how}; credentials ${r.credentialsRemoved ? 'removed from' : 'were not in'} the keychain`);
    if (r.unflushed === 'no-credentials') {
      ctx.print('  the last flush could not run (the credentials were no longer in the keychain): changes not synced yet stay on disk, not uploaded');
    }
    if (r.wiped.length > 0) ctx.print(`  wiped: ${r.wiped.join(', ')}`);
    if (r.kept.length > 0) ctx.print(`  kept, not in the bucket (excluded, not syncable, or changed since the flush): ${r.kept.join(', ')}`);
  },
};
