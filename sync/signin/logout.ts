/**
 * Signing out (DESIGN §4): flush pending changes, stop the agent, forget the credentials and the
 * session, and in VDI mode optionally wipe the local copy.
 *
 *   1. flush: a running agent (control.json answers) is asked for a pass and waited for
 *      (flush.ts); with none, one full sync pass runs here with the keychain's credentials;
 *   2. stop the running agent (SIGTERM by default) and wait until its endpoint is gone, then run
 *      one full pass here: what its watcher had not reported yet; then, in VDI mode, mark this
 *      device's head final, its last write (device-head.ts: the next sign-in anywhere may drop it);
 *   3. delete the keychain entry and the session file;
 *   4. --wipe: remove from home what the bucket has (wipe.ts): whatever it lacks stays, as `kept`.
 *      A record of it is written before step 3 (before the credentials go), and removed once it is
 *      done: with nobody signed in, `logout --wipe` finishes a wipe that was cut off (wipe-pending.ts).
 * A session whose credentials are already gone from the keychain (a sign-out cut off between
 * steps 3's two deletes, or an entry removed by hand) is still signed out: no pass can run here,
 * so what it would have uploaded stays on disk, unsynced (`unflushed`), and a running agent —
 * which holds the credentials it started with — still flushes first. Left in place, such a session
 * could only be ended by signing in again. --wipe is refused then: it would delete those changes;
 * unless the `wiping` record is this very session's: a `logout --wipe` passed, recorded its wipe and
 * was cut off before the session went, and its rerun finishes it by the recorded format.
 * An agent whose pid is alive but whose endpoint does not answer (stopped, or too busy) is refused
 * (E_AGENT_NOT_ANSWERING): it cannot flush, and it may sync again at any moment, taking a pass's
 * or a wipe's work here for the user's (the wiped files as deletes).
 * A failed flush stops everything before step 2: nothing is signed out, nothing is wiped, and an
 * agent paused before is paused again; so is one that does not stop (E_AGENT_STOP). A pass here
 * that fails after the agent's flush signs nothing out either; the agent it stopped stays stopped
 * (logout cannot start it again where it ran: the desktop app, a service), its error says so and
 * which command starts it again, and a paused one is recorded paused for that start. The same
 * holds for a step that fails after a pass that passed, and its error says what it leaves and what
 * a rerun of `strata logout` does: marking the head final, the `wiping` record, the keychain delete
 * (nothing signed out: a rerun passes again and signs out); the session delete (signed out in part:
 * a rerun, with no credentials for a pass, removes the session and wipes; the stopped agent cannot
 * start again without them). Neither
 * happens while a lay is still running (laying.ts: E_LAYING): it would write the session back; nor
 * over a lay that was cut off (E_NOT_LAID): the pass would upload its half-laid files. --wipe
 * is refused up front unless the session is a VDI one: on a persistent PC the local copy is the
 * user's working copy.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ControlClient, probeAgent, readControlFile, type ControlInfo } from '../control/index.js';
import { deleteCredentials, loadCredentials, userPrincipal, type S3Credentials } from '../credentials/index.js';
import { StrataError, isStrataError } from '../errors.js';
import { openRepository } from '../repo/index.js';
import { defaultStateDir, openAgentState } from '../state/index.js';
import type { FileChunker } from '../snapshot/index.js';
import { flushThroughAgent, pausedAgain, withNote } from './flush.js';
import { LAYING_FILE, lastLayCutOff, runningLay } from './laying.js';
import { markHeadFinal } from './device-head.js';
import { flushSession } from './refresh.js';
import { openOrgStore } from './org-store.js';
import { deleteSession, readSession, type Session } from './session.js';
import { sessionSettings, settingsRunner, type SettingsEvent } from './settings.js';
import { wipeLayer, type WipeFormat } from './wipe.js';
import { readPendingWipe, recordPendingWipe, removePendingWipe, type PendingWipe } from './wipe-pending.js';
import type { SettingsStore } from '../settings/settings.js';

export interface SignOutOptions {
  stateDir: string;
  wipe?: boolean;
  chunker?: FileChunker;
  /** Stops the agent `info` names (default: SIGTERM to its pid, then wait for control.json to go). */
  stopAgent?: (info: ControlInfo) => Promise<void>;
  /** How long the flush and the stop may take (default 10 min). */
  timeoutMs?: number;
  /** Where the org's settings are read from before the last pass (default: dconf; settings.ts). */
  settingsStore?: SettingsStore;
  onSettings?: (e: SettingsEvent) => void;
  /** Removes the keychain entry (default: the OS keychain's; tests inject one that fails). */
  deleteCredentials?: typeof deleteCredentials;
  /** Removes the session file (default: session.ts's; tests inject one that fails). */
  deleteSession?: typeof deleteSession;
}

export interface SignOutResult {
  org: string;
  user: string;
  /** 'agent': the running agent flushed (then a pass here took what its watcher had not reported); 'pass': a pass ran here; 'none': no restore ever finished, so there was nothing to flush. */
  flushed: 'agent' | 'pass' | 'none';
  snapshot?: string;
  credentialsRemoved: boolean;
  /**
   * 'no-credentials': the keychain no longer had the credentials, so the full pass (flushed 'pass',
   * or the one after the agent's flush) could not run; changes it would have uploaded stay on disk.
   */
  unflushed?: 'no-credentials';
  /** This run only finished the wipe of a sign-out cut off in it (wipe-pending.ts): nobody was signed in. */
  wipeFinished?: true;
  /** Home-relative paths removed by --wipe. */
  wiped: string[];
  /** Home-relative paths --wipe left because the bucket does not have them (wipe.ts). */
  kept: string[];
}

const DEFAULT_TIMEOUT_MS = 10 * 60_000;

export async function signOut(opts: SignOutOptions): Promise<SignOutResult> {
  let session: Session;
  try {
    session = await readSession(opts.stateDir);
  } catch (err) {
    if (isStrataError(err, 'E_NOT_SIGNED_IN')) return finishCutOffWipe(opts, err);
    throw err;
  }
  const laying = await runningLay(opts.stateDir);
  if (laying !== undefined) {
    throw new StrataError(
      'E_LAYING',
      `a sign-in (process ${laying}) is still laying the layer onto home: wait for it, or stop it, before signing out (if that process is not Strata, remove ${LAYING_FILE} from the state dir)`,
      { path: opts.stateDir },
    );
  }
  // A lay cut off left home a mix of the layers it was laying and those `laid` names (laying.ts):
  // a pass over it would take every file it had laid for a user edit of the old ones, copy-ups that
  // pin them, torn files included. The agent lays again before it syncs; so must a sign-out.
  if (session.laid !== undefined && (await lastLayCutOff(opts.stateDir))) {
    throw new StrataError('E_NOT_LAID', 'the last sign-in was cut off while laying the layer onto home: run strata agent (it finishes the lay) or strata login again, then sign out; nothing was signed out', { path: session.home });
  }
  if (opts.wipe && session.mode !== 'vdi') {
    throw new StrataError('E_USAGE', `--wipe is only for VDI machines; this session is "${session.mode}" (the org config's mode), so the local copy stays`);
  }
  const creds = await credentialsIfAny(session);
  // Unless a sign-out of this very session recorded its wipe after its pass and was then cut off
  // between its two deletes: its rerun finishes it (the wipe takes only what that pass vouched for).
  const recorded = creds === undefined && opts.wipe ? await wipeRecordedFor(opts.stateDir, session) : undefined;
  if (creds === undefined && opts.wipe && session.laid !== undefined && recorded === undefined) {
    throw new StrataError(
      'E_NO_CREDENTIALS',
      `the credentials of ${session.user} are no longer in the keychain, so the last flush cannot run and --wipe would delete what it did not upload: run strata logout without --wipe (the local copy stays), or strata login again first; nothing was signed out`,
      { path: session.home },
    );
  }
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const info = await readControlFile(opts.stateDir).catch(() => undefined);
  const agent = info === undefined ? 'gone' : await probeAgent(info);
  if (info !== undefined && agent === 'silent') {
    throw new StrataError(
      'E_AGENT_NOT_ANSWERING',
      `the agent (pid ${info.pid}) is running but does not answer: it cannot flush, and a pass or a wipe here would race it; try again, or stop it first (if pid ${info.pid} is not Strata, remove control.json from the state dir); nothing was signed out`,
      { path: opts.stateDir },
    );
  }
  const running = info !== undefined && agent === 'answers';
  let flushed: SignOutResult['flushed'];
  let snapshot: string | undefined;
  // Without credentials no pass runs here: the wipe goes by the format its record kept, if any.
  let format: WipeFormat | undefined = recorded?.format;
  let stopped: { resumed: boolean } | undefined;
  if (running) {
    const client = new ControlClient(info, join(opts.stateDir, 'control.json'));
    const { resumed } = await flushThroughAgent(client, timeoutMs);
    // An agent that does not stop runs on: one paused before must be paused again, as the user had it.
    await (opts.stopAgent ?? ((i) => stopBySignal(opts.stateDir, i, timeoutMs)))(info).catch((err: unknown) => (resumed ? pausedAgain(client, err) : Promise.reject(err)));
    stopped = { resumed };
    // The agent's passes scan what its watcher reported, and the watcher reports a file only once it
    // has been quiet a moment: one saved as the session ends was not in that flush. With the agent
    // stopped, a full pass here takes what is left, over the org layers the agent last recorded.
    // Should it fail, the agent stays stopped: logout cannot start it again where it ran (the
    // desktop app, a service), so the error says so, and a paused one is paused again for its start.
    if (creds) ({ snapshot, format } = await flushHere(await readSession(opts.stateDir), creds, opts).catch((err: unknown) => failedAfterStop(opts.stateDir, err, stopped, '')));
    flushed = 'agent';
  } else if (session.laid === undefined) {
    flushed = 'none';
  } else if (creds) {
    ({ snapshot, format } = await flushHere(session, creds, opts));
    flushed = 'pass';
  } else {
    flushed = 'none';
  }
  const unflushed = creds === undefined && (running || session.laid !== undefined);
  // From here on a step that fails says what it leaves, and what `strata logout` run again does.
  const rerun = `strata logout${opts.wipe ? ' --wipe' : ''} again`;
  const notSignedOut = `; nothing was signed out: ${rerun} runs one more pass and signs out${opts.wipe ? ', then wipes' : ''}`;
  // Once the session is gone, only the record tells a rerun what a wipe cut off had left to do; it is
  // written before the credentials go, so that a rerun without them still finishes the wipe.
  await (opts.wipe ? recordPendingWipe(opts.stateDir, { session, ...(format ? { format } : {}) }) : removePendingWipe(opts.stateDir)).catch((err: unknown) => failedAfterStop(opts.stateDir, err, stopped, notSignedOut));
  const credentialsRemoved = creds !== undefined && (await (opts.deleteCredentials ?? deleteCredentials)(session.org.org, userPrincipal(session.user)).catch((err: unknown) => failedAfterStop(opts.stateDir, err, stopped, notSignedOut)));
  await (opts.deleteSession ?? deleteSession)(opts.stateDir).catch((err: unknown) =>
    failedAfterStop(
      opts.stateDir,
      err,
      stopped,
      `; signed out only in part: the credentials are gone from the keychain, the session is not: ${rerun} removes it${opts.wipe ? ' and wipes' : ''}, with no pass (without the credentials, changes since this one's pass stay on disk, unsynced)`,
      false,
    ),
  );
  const { wiped, kept } = opts.wipe ? await wipeLayer(session, opts.stateDir, format, opts.chunker) : { wiped: [], kept: [] };
  if (opts.wipe) await removePendingWipe(opts.stateDir);
  return {
    org: session.org.org,
    user: session.user,
    flushed,
    ...(snapshot ? { snapshot } : {}),
    credentialsRemoved,
    ...(unflushed ? { unflushed: 'no-credentials' as const } : {}),
    wiped,
    kept,
  };
}

/** With nobody signed in: `logout --wipe` finishes the wipe of a sign-out cut off (wipe-pending.ts); else `notSignedIn`. */
async function finishCutOffWipe(opts: SignOutOptions, notSignedIn: StrataError): Promise<SignOutResult> {
  const pending = await readPendingWipe(opts.stateDir);
  if (pending === undefined) throw notSignedIn;
  const { session, format } = pending;
  if (!opts.wipe) {
    throw new StrataError('E_NOT_SIGNED_IN', `nobody is signed in, but the wipe of ${session.user}'s sign-out was cut off: run strata logout --wipe to finish it`, { path: opts.stateDir });
  }
  const { wiped, kept } = await wipeLayer(session, opts.stateDir, format, opts.chunker);
  await removePendingWipe(opts.stateDir);
  return { org: session.org.org, user: session.user, flushed: 'none', credentialsRemoved: false, wipeFinished: true, wiped, kept };
}

/** The session user's credentials, or undefined when the keychain has none (a keychain that fails, fails). */
async function credentialsIfAny(session: Session): Promise<S3Credentials | undefined> {
  return loadCredentials(session.org.org, userPrincipal(session.user)).catch((err: unknown) => {
    if (isStrataError(err, 'E_NO_CREDENTIALS')) return undefined;
    throw err;
  });
}

/** One full pass of the session's folder; returns the snapshot it wrote, if any, and the repository's format. */
async function flushHere(session: Session, creds: S3Credentials, opts: SignOutOptions): Promise<{ snapshot?: string; format: WipeFormat }> {
  const org = openOrgStore(session.org, creds);
  try {
    // The settings changed since the agent's last pass (or while none ran) into their files first.
    const mirror = sessionSettings(session, opts.stateDir, opts.settingsStore);
    if (mirror) await settingsRunner(mirror, (e) => opts.onSettings?.(e))();
    const repo = await openRepository(org.store);
    const r = await flushSession(repo, session, opts.stateDir, opts.chunker);
    if (r.status === 'held') {
      throw new StrataError('E_FLUSH_HELD', `the sync pass would delete ${r.held.files} of ${r.held.of} files and waits for a confirmation (strata sync … then confirm); nothing was signed out`, { path: session.home });
    }
    // Only a synced pass leaves nothing behind: after a retry the head is not this device's last word.
    // Only a VDI session's head: its machine is reset, and its device never signs in again. A
    // persistent PC's head is what its next sign-in takes its own files by (signin/layers.ts
    // pastRoots): dropped, files deleted or edited elsewhere meanwhile would come back as its own.
    if (r.status === 'synced' && session.mode === 'vdi') {
      await markHeadFinal(repo, `user/${session.user}`, session.device).catch((err: unknown) => {
        throw withNote(err, '; the pass synced, but its head could not be marked final: nothing was signed out, and strata logout again runs one more pass and marks it');
      });
    }
    return { ...(r.status === 'synced' && r.snapshot !== undefined ? { snapshot: r.snapshot } : {}), format: repo.format };
  } finally {
    org.close();
  }
}

/**
 * `err` of a step after the flush, with `state` (what it leaves) added; and when the agent was
 * `stopped` for the flush, saying it is not running and, while its credentials are still there
 * (`canStart`), which command starts it again. One resumed for the flush is recorded paused again.
 */
async function failedAfterStop(stateDir: string, err: unknown, stopped: { resumed: boolean } | undefined, state: string, canStart = true): Promise<never> {
  if (stopped === undefined) throw withNote(err, state);
  let paused = '';
  if (stopped.resumed) {
    const again = await openAgentState(stateDir).then((s) => s.update((d) => void (d.paused = true))).then(
      () => undefined,
      (e: unknown) => e,
    );
    paused = again === undefined ? ', paused as it was' : ` (it was paused, and could not be recorded so again: ${again instanceof Error ? again.message : String(again)})`;
  }
  const start = canStart ? `: start it again (${agentCommandFor(stateDir)})` : ' (without the credentials it cannot start again: strata login first)';
  throw withNote(err, `${state}; the agent, stopped after its flush, is not running${start}${paused}`);
}

/** The `wiping` record (wipe-pending.ts) when it is that of a sign-out of `session`: one that passed and recorded its wipe. */
async function wipeRecordedFor(stateDir: string, session: Session): Promise<PendingWipe | undefined> {
  const pending = await readPendingWipe(stateDir);
  return pending !== undefined && JSON.stringify(pending.session) === JSON.stringify(session) ? pending : undefined;
}

/** The command that starts the agent of `stateDir`: a bare `strata agent` only runs the default state dir's. */
function agentCommandFor(stateDir: string): string {
  if (resolve(stateDir) === resolve(defaultStateDir(process.platform, process.env, homedir()))) return 'strata agent';
  return `strata agent --state-dir ${/^[\w./:\\-]+$/.test(stateDir) ? stateDir : `'${stateDir.replaceAll("'", `'\\''`)}'`}`;
}

/** SIGTERM to the agent's pid, then wait until its control.json is gone (it removes it on exit). */
async function stopBySignal(stateDir: string, info: ControlInfo, timeoutMs: number): Promise<void> {
  try {
    process.kill(info.pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const current = await readControlFile(stateDir).catch((err: unknown) => (isStrataError(err, 'E_AGENT_NOT_RUNNING') ? undefined : info));
    if (current === undefined || current.token !== info.token) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new StrataError('E_AGENT_STOP', `the agent (pid ${info.pid}) did not stop; the credentials and session were kept`, { path: stateDir });
}
