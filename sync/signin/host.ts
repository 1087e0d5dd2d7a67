/**
 * A signed-in session's live sync, hosted: the agent on home, the org layer follower and the
 * loopback control endpoint. `strata agent` runs it, and so does the desktop app (DESIGN §5: the
 * agent runs the same way everywhere; only what shows it differs).
 *
 *   1. openSignedIn: the session from the state dir, refused while another process lays it
 *      (E_LAYING), the bucket opened with the keychain's credentials, and — when the last lay was
 *      cut off — laid again first (the caller's `relay`, lay.ts underneath), as live sync must not
 *      start over a torn lay;
 *   2. startSessionHost: agent (with the settings mirror around its passes), follower and control
 *      endpoint, whose statuses carry what the mirror's last runs left (SettingsReport); `stop` ends the follower, then the
 *      agent (its pass in flight done), then the endpoint, and closes the bucket. The endpoint goes
 *      last: its file gone is how a sign-out knows this process writes no more (logout.ts), so a
 *      pass still running here cannot move the head after the sign-out's own last pass. A start
 *      that fails part-way stops what it had started. A resume it serves ends a sign-out's pause
 *      for good (logout-pause.ts resumingDrops), and so does the start of the agent over a pause
 *      that a sign-out cut off left (endCutOffPause), unless that sign-out still runs; a sign-out
 *      cut off while the agent runs paused is found gone by its watch (watchCutOffPause), which
 *      resumes it and says so (onWarning). Once it
 *      serves, the session must still be there: a sign-out that deleted it meanwhile did not see
 *      this agent to stop it (E_NOT_SIGNED_IN).
 */
import type { Agent } from '../agent/index.js';
import type { AgentApi } from '../../shared/agent-api.js';
import { serveControl, SettingsReport, type ControlServer } from '../control/index.js';
import type { FileChunker } from '../snapshot/index.js';
import { isStrataError, StrataError } from '../errors.js';
import { lastLayCutOff, LAYING_FILE, runningLay } from './laying.js';
import { openSessionStore, startSessionAgent } from './live.js';
import { endCutOffPause, resumingDrops, watchCutOffPause } from './logout-pause.js';
import type { OrgStore } from './org-store.js';
import { OrgLayerFollower, type FollowEvent } from './refresh.js';
import { readSession, type Session } from './session.js';
import { platformSettingsStore, sessionSettings, settingsRunner, type SettingsEvent } from './settings.js';
import type { SettingsStore } from '../settings/settings.js';

export interface HostableSession {
  /** A session whose lay finished (session.laid). */
  session: Session;
  org: OrgStore;
}

/** Lays a session's layer again (layHome, with whatever progress the caller shows); returns the session with `laid`. */
export type Relay = (session: Session, org: OrgStore) => Promise<Session>;

/**
 * The state dir's session, ready to host (see the header); the caller owns `org` until it hands it
 * to the host. On a failure nothing stays open.
 */
export async function openSignedIn(stateDir: string, relay: Relay): Promise<HostableSession> {
  const session = await readSession(stateDir);
  const laying = await runningLay(stateDir);
  if (laying !== undefined) {
    throw new StrataError('E_LAYING', `a sign-in (process ${laying}) is laying the layer onto home right now: start the agent once it is done (if that process is not Strata, remove ${LAYING_FILE} from the state dir)`, { path: stateDir });
  }
  const org = await openSessionStore(session);
  try {
    const unfinished = session.laid === undefined || (await lastLayCutOff(stateDir));
    return { session: unfinished ? await relay(session, org) : session, org };
  } catch (err) {
    org.close();
    throw err;
  }
}

export interface SessionHostOptions {
  stateDir: string;
  /** A session whose lay finished (session.laid). */
  session: Session;
  /** The org's bucket, open; the host closes it when it stops. */
  org: OrgStore;
  chunker?: FileChunker;
  pollMs?: number;
  /** How often the org layers are checked for new versions (refresh.ts; 0: only at start). */
  orgCheckMs: number;
  onFollow?: (e: FollowEvent) => void;
  /** The settings store the org's settings are mirrored from (default: this platform's; settings.ts). */
  settingsStore?: SettingsStore;
  onSettings?: (e: SettingsEvent) => void;
  /** Told what the start had to put right, in one line (default: to stderr, as the CLI warns); and the end of a pause whose sign-out was cut off. */
  onWarning?: (line: string) => void;
  /** How often a paused agent looks whether the sign-out that paused it still runs (logout-pause.ts watchCutOffPause; default 30 s). */
  pauseCheckMs?: number;
}

export interface SessionHost {
  agent: Agent;
  /** The agent as its UI sees it (what the control endpoint serves): statuses carry the settings mirror's standing. */
  api: AgentApi;
  control: ControlServer;
  /** Stops the follower, the agent, then the control endpoint, and closes the bucket, each whatever the others did; E_HOST_STOP names every one that failed. */
  stop(): Promise<void>;
}

export async function startSessionHost(opts: SessionHostOptions): Promise<SessionHost> {
  const { stateDir, session, org } = opts;
  const stops: Stop[] = [{ what: 'the bucket', stop: () => org.close() }];
  const stop = (): Promise<void> => stopAll(stops.splice(0).reverse(), stateDir);
  try {
    const settingsStore = opts.settingsStore ?? platformSettingsStore();
    const mirror = sessionSettings(session, stateDir, settingsStore);
    const report = mirror && new SettingsReport(settingsStore.name);
    const beside = mirror && settingsRunner(mirror, (e) => opts.onSettings?.(e), (run) => report?.ran(run));
    const warn = opts.onWarning ?? ((line: string) => void process.stderr.write(`strata: warning: ${line}\n`));
    await endCutOffPause(stateDir, { warn });
    const agent = await startSessionAgent({ stateDir, session, openStore: () => org.store, ...(opts.chunker ? { chunker: opts.chunker } : {}), ...(opts.pollMs ? { pollMs: opts.pollMs } : {}), ...(beside ? { beside, watchBeside: (changed: () => void) => mirror.watch(changed) } : {}) });
    stops.push({ what: 'the agent', stop: () => agent.stop() });
    const follower = new OrgLayerFollower({ stateDir, store: org.store, agent, session, intervalMs: opts.orgCheckMs, onEvent: (e) => opts.onFollow?.(e) });
    stops.push({ what: 'the org layer follower', stop: () => follower.stop() });
    const api = resumingDrops(report ? report.around(agent) : agent, stateDir);
    // Stopped before the agent: it must not resume one that is stopping. Its resume is the agent's
    // own, queued at once; the watch removes the record, only the one it found cut off.
    const watch = watchCutOffPause(stateDir, { paused: () => agent.paused, resume: () => agent.resume(), warn, ...(opts.pauseCheckMs === undefined ? {} : { everyMs: opts.pauseCheckMs }) });
    stops.push({ what: 'the watch on a pause of a sign-out', stop: () => watch.stop() });
    const control = await serveControl(api, { stateDir });
    // Stopped after the agent (see the header): stops run last-in first-out.
    stops.splice(1, 0, { what: 'the control endpoint', stop: () => control.close() });
    // A sign-out deletes the session, then stops whatever agent control.json names (logout.ts): one
    // that serves after that look must see the session gone, or it runs on over nobody's session.
    await readSession(stateDir).catch((err: unknown) => {
      if (isStrataError(err, 'E_NOT_SIGNED_IN')) throw new StrataError('E_NOT_SIGNED_IN', 'signed out while the agent started: nobody is signed in with this state dir any more', { path: stateDir }, { cause: err });
      throw err;
    });
    return { agent, api, control, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

interface Stop {
  what: string;
  stop: () => unknown;
}

/**
 * Runs every stop in turn, whichever fails: one failure must not leave the rest running (the
 * endpoint open, the bucket's connections). Then every failure, in one error.
 */
async function stopAll(stops: readonly Stop[], stateDir: string): Promise<void> {
  const failed: { what: string; err: unknown }[] = [];
  for (const { what, stop } of stops) {
    try {
      await stop();
    } catch (err) {
      failed.push({ what, err });
    }
  }
  if (failed.length === 0) return;
  const said = failed.map(({ what, err }) => `${what}: ${err instanceof Error ? err.message : String(err)}`).join('; ');
  throw new StrataError('E_HOST_STOP', `the session did not stop cleanly (the rest did stop): ${said}`, { path: stateDir }, { cause: failed.length === 1 ? failed[0]!.err : new AggregateError(failed.map((f) => f.err)) });
}
