/**
 * `strata sync <dir> --layer <id>`: keeps a folder in two-way sync with a layer until stopped
 * (SIGINT, SIGTERM), serving the control endpoint that `strata status|pause|resume|sync-now`
 * use. `--once` runs one full reconcile and exits.
 *
 * `--case-insensitive` is what an org config's `policies.caseInsensitive` is to a signed-in agent
 * (signin/folder.ts): a layer shared with Windows or macOS machines must be synced so on every
 * machine, or a case-sensitive one uploads two names that those disks hold as one. Without it the
 * folder is treated as this platform's disks are (plan caseInsensitiveByDefault).
 */
import { resolve } from 'node:path';
import { Agent, syncOnce, type PassResult } from '../../agent/index.js';
import { refuseRunningAgent, serveControl } from '../../control/index.js';
import { syncFailed } from './status.js';
import { openAgentState } from '../../state/index.js';
import { listOption, stringOption, usageError } from '../args.js';
import { openChunkPool } from '../chunker.js';
import { preferSmallHeap } from '../memory.js';
import type { Context } from '../context.js';
import { LAYER_OPTION, STATE_DIR_OPTION, stateDirOf, type Command } from './command.js';
import { errorLine, plural, shortPath } from '../../../shared/status-text.js';

function pollMs(ctx: Context): number {
  const raw = stringOption(ctx.args, 'poll') ?? '10';
  const s = Number(raw);
  if (!Number.isFinite(s) || s < 0.1 || s > 86_400) throw usageError(`--poll must be a number of seconds between 0.1 and 86400, got ${JSON.stringify(raw)}`, 'sync');
  return Math.round(s * 1000);
}

/** The device id this state dir has; --device may name it, but never change it. */
async function checkDevice(ctx: Context, stateDir: string): Promise<void> {
  const given = stringOption(ctx.args, 'device');
  const state = await openAgentState(stateDir, given === undefined ? {} : { newDeviceId: () => ctx.device });
  if (given !== undefined && state.deviceId !== given) throw usageError(`the state dir belongs to device ${state.deviceId}, not ${given}`, 'sync');
}

function report(ctx: Context, r: PassResult & { device: string }, root: string): number {
  if (ctx.json) {
    ctx.printJson(r.status === 'held' ? { status: r.status, device: r.device, pendingDeletes: r.held } : { status: r.status, device: r.device, snapshot: r.status === 'synced' ? (r.snapshot ?? null) : null, conflicts: r.status === 'synced' ? r.conflicts : [] });
  } else if (r.status === 'held') {
    ctx.print(`held: this pass would delete ${r.held.files} of ${r.held.of} files (${r.held.direction}); nothing was changed`, `  run it again with --deletes confirm to delete them everywhere, or --deletes restore to put them back`);
  } else if (r.status === 'synced') {
    ctx.print(`in sync: ${root} (device ${r.device})${r.snapshot ? `, new snapshot ${r.snapshot.slice(0, 12)}` : ''}`);
    for (const c of r.conflicts) ctx.print(`  conflict: ${c.path} → ${c.copy} (from ${c.device})`);
  }
  for (const [p, why] of r.scan.skipped) ctx.warn(`skipped ${shortPath(p)}: ${why}`);
  return r.status === 'held' ? 3 : 0;
}

export const syncCommand: Command = {
  name: 'sync',
  summary: 'keep a folder in two-way sync with a layer (until stopped, or --once)',
  args: '<dir>',
  positionals: { min: 1, max: 1 },
  globals: ['store', 'device'],
  globalHelp: { device: "this machine's device id (default: the state dir's device id, a new random one for a new state dir; another id than the state dir's is refused)" },
  options: {
    layer: LAYER_OPTION,
    once: { type: 'boolean', help: 'run one full reconcile and exit (exit 3 when it waits for a mass-delete confirmation)' },
    deletes: { type: 'string', value: 'confirm|restore', help: 'with --once: a pass held for a mass delete deletes the files everywhere, or puts them back' },
    poll: { type: 'string', value: '<seconds>', help: "how often other devices' heads are polled (default 10)" },
    exclude: { type: 'string', multiple: true, value: '<pattern>', help: 'also exclude paths matching this gitignore pattern' },
    'case-insensitive': { type: 'boolean', help: "treat names that differ only in case as one, as Windows and macOS do (an org config's policies.caseInsensitive; default: as this disk does)" },
    'state-dir': STATE_DIR_OPTION,
  },
  async run(ctx) {
    const root = resolve(ctx.args.positionals[0] as string);
    const layer = ctx.layer;
    const stateDir = stateDirOf(ctx);
    const folder = { root, layer, exclude: listOption(ctx.args, 'exclude'), ...(ctx.args.values['case-insensitive'] === true ? { caseInsensitive: true } : {}) };
    const deletes = stringOption(ctx.args, 'deletes');
    if (deletes !== undefined && deletes !== 'confirm' && deletes !== 'restore') throw usageError(`--deletes must be "confirm" or "restore", got ${JSON.stringify(deletes)}`, 'sync');
    if (deletes !== undefined && ctx.args.values.once !== true) throw usageError('--deletes goes with --once; a running agent is answered with strata deletes', 'sync');
    // Before anything touches the state dir: a second agent's passes would interleave with the first's.
    await refuseRunningAgent(stateDir);
    await checkDevice(ctx, stateDir);
    const chunker = openChunkPool(ctx);
    if (ctx.args.values.once === true) {
      const repo = await ctx.openRepository();
      return report(ctx, await syncOnce({ stateDir, repo, folder, chunker, deletes }), root);
    }
    preferSmallHeap();
    const agent = await Agent.start({ stateDir, folders: [folder], pollMs: pollMs(ctx), chunker, openStore: async () => (await ctx.openStore()).store });
    ctx.onClose(() => agent.stop());
    const control = await serveControl(agent, { stateDir });
    ctx.onClose(() => control.close());
    if (!ctx.json) ctx.print(`syncing ${root} with ${layer} as device ${agent.deviceId}; control endpoint ${control.url} (Ctrl-C to stop)`);
    // One line each time the folder reaches a new sync: scripts (and the bench) wait for it.
    let last: string | undefined;
    // A warning (E_WATCH_LIMIT) once each time it comes: sync goes on, but the user has something to fix.
    let warned: string | undefined;
    agent.subscribe((e) => {
      const f = e.type === 'status' ? e.status.folders[0] : undefined;
      if (f !== undefined) {
        const warning = f.warning === undefined ? undefined : errorLine(f.warning);
        if (warning !== undefined && warning !== warned) ctx.warn(warning);
        warned = warning;
      }
      if (f?.state !== 'idle' || f.lastSync === undefined || f.lastSync === last || f.pendingDeletes !== undefined) return;
      last = f.lastSync;
      if (ctx.json) ctx.io.stdout(`${JSON.stringify({ event: 'in-sync', root, time: f.lastSync, files: f.files, conflicts: f.conflicts.length })}\n`);
      else ctx.print(`in sync at ${f.lastSync}: ${plural(f.files, 'file')}, ${plural(f.conflicts.length, 'conflict')}`);
    });
    await new Promise<void>((done) => {
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
    if (agent.status().state === 'error') throw syncFailed(agent.status());
  },
};
