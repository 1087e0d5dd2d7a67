/**
 * `strata agent [--state-dir <dir>]`: live sync of the signed-in session (home with the user's
 * layer over the org layers the last sign-in laid), with the credentials from the keychain, until
 * stopped (SIGINT, SIGTERM — `strata logout` sends the latter). What the tray or an autostart entry
 * runs after `strata login`; it serves the control endpoint that `strata status|pause|resume|
 * sync-now` and the UI use, as `strata sync` does.
 *
 * A session without `laid` is a sign-in whose lay was cut off (a crash, a kill): live sync must not
 * start on it (signin/live.ts, E_NOT_LAID), so the agent lays the layer again first, as login
 * does. That is the recovery, not a shortcut: a lay is idempotent, and one that finds the last
 * one's `laying` marker reads every file instead of trusting size and mtime (signin/lay.ts).
 *
 * A session with `laid` whose org layers changed since (an admin published a version, or assigned
 * other layers) is brought up to them first: a sync pass over the old ones, then a lay over the
 * new ones (signin/refresh.ts). When the check fails (offline, the bucket refuses), the agent
 * starts over the layers laid.
 */
import { serveControl } from '../../control/index.js';
import { describeError, StrataError } from '../../errors.js';
import { preferSmallHeap } from '../memory.js';
import { isOffline } from '../../agent/index.js';
import { openRepository } from '../../repo/index.js';
import { changedOrgLayers, flushSession, openSessionStore, readSession, startSessionAgent, type LayResult, type OrgStore, type Session } from '../../signin/index.js';
import { stringOption, usageError } from '../args.js';
import { openChunkPool } from '../chunker.js';
import type { Context } from '../context.js';
import { STATE_DIR_OPTION, stateDirOf, type Command } from './command.js';
import { layWithOutput, laySummary } from './lay-output.js';

export const POLL_OPTION = { type: 'string', value: '<seconds>', help: "how often other devices' heads are polled (default 10)" } as const;

export function pollMs(ctx: Context): number {
  const raw = stringOption(ctx.args, 'poll') ?? '10';
  const s = Number(raw);
  if (!Number.isFinite(s) || s < 0.1 || s > 86_400) throw usageError(`--poll must be a number of seconds between 0.1 and 86400, got ${JSON.stringify(raw)}`, ctx.command);
  return Math.round(s * 1000);
}

/**
 * Runs the session's agent and its control endpoint until SIGINT or SIGTERM. `org` is the open
 * bucket when the caller has one (login); otherwise it is opened with the keychain's credentials.
 */
export async function runSessionAgent(ctx: Context, stateDir: string, session: Session, org?: OrgStore): Promise<void> {
  const store = org ?? (await openSessionStore(session));
  ctx.onClose(() => store.close());
  preferSmallHeap();
  const agent = await startSessionAgent({ stateDir, session, openStore: () => store.store, chunker: openChunkPool(ctx), pollMs: pollMs(ctx) });
  ctx.onClose(() => agent.stop());
  const control = await serveControl(agent, { stateDir });
  ctx.onClose(() => control.close());
  const layer = `user/${session.user}`;
  if (!ctx.json) ctx.print(`syncing ${session.home} with ${layer} as device ${agent.deviceId}; control endpoint ${control.url} (Ctrl-C to stop)`);
  let last: string | undefined;
  agent.subscribe((e) => {
    const f = e.type === 'status' ? e.status.folders[0] : undefined;
    if (f?.state !== 'idle' || f.lastSync === undefined || f.lastSync === last || f.pendingDeletes !== undefined) return;
    last = f.lastSync;
    if (ctx.json) ctx.io.stdout(`${JSON.stringify({ event: 'in-sync', root: session.home, time: f.lastSync, files: f.files, conflicts: f.conflicts.length })}\n`);
    else ctx.print(`in sync at ${f.lastSync}: ${f.files} files, ${f.conflicts.length} conflicts`);
  });
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  if (agent.status().state === 'error') throw new StrataError('E_SYNC', agent.status().folders.find((f) => f.error)?.error?.message ?? 'sync failed');
}

/** Brings a laid session up to org layers that changed since its lay; returns the session to run. */
async function refreshOrgLayers(ctx: Context, stateDir: string, session: Session, org: OrgStore): Promise<Session> {
  let repo;
  let changed;
  try {
    repo = await openRepository(org.store);
    changed = await changedOrgLayers(repo, session);
  } catch (err) {
    // Offline, or the bucket refuses: the agent still starts, and its status says what is wrong.
    if (!isOffline(err) && !(err instanceof StrataError)) throw err;
    ctx.warn(`could not check the org layers for new versions (${describeError(err).split('\n')[0]}); syncing over the ones laid`);
    return session;
  }
  if (changed === undefined) return session;
  const names = changed.length > 0 ? changed.map((l) => l.layer).join(', ') : 'none';
  if (!ctx.json) ctx.print(`the org layers changed since the last lay (now: ${names}): syncing this device's changes, then laying the layer again`);
  const flush = await flushSession(repo, session, stateDir, openChunkPool(ctx));
  if (flush.status === 'held') {
    ctx.warn(`the sync pass would delete ${flush.held.files} of ${flush.held.of} files and waits for a confirmation; the new org layers are laid at a later start`);
    return session;
  }
  return reportLay(ctx, await layWithOutput(ctx, { store: org.store, session, stateDir }), session);
}

function reportLay(ctx: Context, result: LayResult, session: Session): Session {
  if (ctx.json) ctx.io.stdout(`${JSON.stringify({ event: 'laid', ...laySummary(result) })}\n`);
  else ctx.print(`laid: ${result.files} files in ${session.home}, ${result.conflicts.length} conflict copies`);
  return result.session;
}

/** Lays the layer of a session whose sign-in was cut off; returns the session with `laid`. */
async function finishLay(ctx: Context, stateDir: string, session: Session, org: OrgStore): Promise<Session> {
  if (!ctx.json) ctx.print(`finishing an interrupted sign-in: laying user/${session.user} onto ${session.home} again`);
  return reportLay(ctx, await layWithOutput(ctx, { store: org.store, session, stateDir }), session);
}

export const agentServiceCommand: Command = {
  name: 'agent',
  summary: 'live sync of the signed-in session (after strata login; first finishes a lay that was cut off, or lays new org layer versions), until stopped',
  args: '',
  positionals: { min: 0, max: 0 },
  options: {
    poll: POLL_OPTION,
    'state-dir': STATE_DIR_OPTION,
  },
  async run(ctx) {
    const stateDir = stateDirOf(ctx);
    const session = await readSession(stateDir);
    const org = await openSessionStore(session);
    let handedOver = false;
    try {
      const laid = session.laid === undefined ? await finishLay(ctx, stateDir, session, org) : await refreshOrgLayers(ctx, stateDir, session, org);
      handedOver = true;
      await runSessionAgent(ctx, stateDir, laid, org);
    } finally {
      if (!handedOver) org.close();
    }
  },
};
