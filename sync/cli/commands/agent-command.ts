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
 * While it runs, the agent follows the org layers (signin/refresh.ts): at start and every
 * --org-check seconds it checks whether an admin published a new version or assigned other
 * layers, and switches home to them in a sync pass; the user's changes stay on top. A failed check
 * (offline, the bucket refuses) is a warning; the agent syncs on over the layers it has.
 */
import { refuseRunningAgent } from '../../control/index.js';
import { describeError } from '../../errors.js';
import { preferSmallHeap } from '../memory.js';
import { ORG_CHECK_MS, openSessionStore, openSignedIn, startSessionHost, type FollowEvent, type LaidLayer, type LayResult, type OrgStore, type Session } from '../../signin/index.js';
import { stringOption, usageError } from '../args.js';
import { openChunkPool } from '../chunker.js';
import type { Context } from '../context.js';
import { STATE_DIR_OPTION, stateDirOf, type Command } from './command.js';
import { layWithOutput, laySummary, reportSettings } from './lay-output.js';
import { syncFailed } from './status.js';
import { plural } from '../../../shared/status-text.js';

export const POLL_OPTION = { type: 'string', value: '<seconds>', help: "how often other devices' heads are polled (default 10)" } as const;

export const ORG_CHECK_OPTION = { type: 'string', value: '<seconds>', help: `how often the org layers are checked for new versions (default ${ORG_CHECK_MS / 1000}; 0: only at start)` } as const;

/** A --<name> option in seconds, as milliseconds; `ok` says which values are allowed (`allowed` in words). */
function millisOption(ctx: Context, name: string, fallback: number, ok: (s: number) => boolean, allowed: string): number {
  const raw = stringOption(ctx.args, name) ?? String(fallback);
  const s = raw.trim() === '' ? Number.NaN : Number(raw);
  if (!ok(s)) throw usageError(`--${name} must be ${allowed}, got ${JSON.stringify(raw)}`, ctx.command);
  return Math.round(s * 1000);
}

export function pollMs(ctx: Context): number {
  return millisOption(ctx, 'poll', 10, (s) => s >= 0.1 && s <= 86_400, 'a number of seconds between 0.1 and 86400');
}

/** The agent's --poll and --org-check, read before anything runs (a usage error must not come after a lay). */
export interface AgentTimings {
  pollMs: number;
  orgCheckMs: number;
}

export function agentTimings(ctx: Context): AgentTimings {
  const orgCheckMs = millisOption(ctx, 'org-check', ORG_CHECK_MS / 1000, (s) => s === 0 || (s >= 1 && s <= 86_400), 'a number of seconds between 1 and 86400, or 0');
  return { pollMs: pollMs(ctx), orgCheckMs };
}

/**
 * Runs the session's agent and its control endpoint until SIGINT or SIGTERM. `org` is the open
 * bucket when the caller has one (login); otherwise it is opened with the keychain's credentials.
 */
export async function runSessionAgent(ctx: Context, stateDir: string, session: Session, timings: AgentTimings, org?: OrgStore): Promise<void> {
  const store = org ?? (await openSessionStore(session));
  preferSmallHeap();
  const host = await startSessionHost({ stateDir, session, org: store, chunker: openChunkPool(ctx), pollMs: timings.pollMs, orgCheckMs: timings.orgCheckMs, onFollow: (e) => reportFollow(ctx, e), onSettings: (e) => reportSettings(ctx, e), onWarning: (line) => ctx.warn(line) });
  ctx.onClose(() => host.stop());
  const { agent, control } = host;
  const layer = `user/${session.user}`;
  if (!ctx.json) ctx.print(`syncing ${session.home} with ${layer} as device ${agent.deviceId}; control endpoint ${control.url} (Ctrl-C to stop)`);
  let last: string | undefined;
  agent.subscribe((e) => {
    const f = e.type === 'status' ? e.status.folders[0] : undefined;
    if (f?.state !== 'idle' || f.lastSync === undefined || f.lastSync === last || f.pendingDeletes !== undefined) return;
    last = f.lastSync;
    if (ctx.json) ctx.io.stdout(`${JSON.stringify({ event: 'in-sync', root: session.home, time: f.lastSync, files: f.files, conflicts: f.conflicts.length })}\n`);
    else ctx.print(`in sync at ${f.lastSync}: ${plural(f.files, 'file')}, ${plural(f.conflicts.length, 'conflict')}`);
  });
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  if (agent.status().state === 'error') throw syncFailed(agent.status());
}

const names = (layers: readonly LaidLayer[]): string => (layers.length > 0 ? layers.map((l) => `${l.layer}@${l.snapshot.slice(0, 8)}`).join(', ') : 'none');

function reportFollow(ctx: Context, e: FollowEvent): void {
  if (e.type === 'check-failed') {
    ctx.warn(`could not check the org layers for new versions (${describeError(e.error).split('\n')[0]}); syncing on over the ones laid`);
  } else if (ctx.json) {
    ctx.io.stdout(`${JSON.stringify(e.type === 'switching' ? { event: 'org-switching', from: e.from, to: e.to } : { event: 'org-switched', org: e.org })}\n`);
  } else if (e.type === 'switching') {
    ctx.print(`the org layers changed (was: ${names(e.from)}; now: ${names(e.to)}): switching home to them, the user's changes on top`);
  } else {
    ctx.print(`switched to the org layers ${names(e.org)}`);
  }
}

function reportLay(ctx: Context, result: LayResult, session: Session): Session {
  if (ctx.json) ctx.io.stdout(`${JSON.stringify({ event: 'laid', ...laySummary(result) })}\n`);
  else ctx.print(`laid: ${plural(result.files, 'file')} in ${session.home}, ${plural(result.conflicts.length, 'conflict copy', 'conflict copies')}`);
  return result.session;
}

/** Lays the layer of a session whose sign-in was cut off; returns the session with `laid`. */
async function finishLay(ctx: Context, stateDir: string, session: Session, org: OrgStore): Promise<Session> {
  if (!ctx.json) ctx.print(`finishing an interrupted sign-in: laying user/${session.user} onto ${session.home} again`);
  return reportLay(ctx, await layWithOutput(ctx, { store: org.store, session, stateDir }), session);
}

export const agentServiceCommand: Command = {
  name: 'agent',
  summary: 'live sync of the signed-in session (after strata login; first finishes a lay that was cut off), following new org layer versions, until stopped',
  args: '',
  positionals: { min: 0, max: 0 },
  options: {
    poll: POLL_OPTION,
    'org-check': ORG_CHECK_OPTION,
    'state-dir': STATE_DIR_OPTION,
  },
  async run(ctx) {
    const timings = agentTimings(ctx);
    const stateDir = stateDirOf(ctx);
    // Before the session is read: finishing a cut-off lay, or a first pass, under a running agent would
    // interleave with its passes (login asks the same).
    await refuseRunningAgent(stateDir);
    const { session, org } = await openSignedIn(stateDir, (s, o) => finishLay(ctx, stateDir, s, o));
    await runSessionAgent(ctx, stateDir, session, timings, org);
  },
};
