/**
 * Signing out (DESIGN §4): flush pending changes, stop the agent, forget the credentials and the
 * session, and in VDI mode optionally wipe the local copy.
 *
 *   1. flush: a running agent (control.json answers) is asked for a pass of the whole of each folder
 *      and waited for, then paused (flush.ts: its watcher reports a file only once it has been
 *      quiet a moment, so one saved as the session ends is in no pass of what it reported); with
 *      none, one full sync pass runs here with the keychain's credentials; then, in VDI mode, this
 *      device's head is marked final, its last write (device-head.ts: the next sign-in anywhere may drop it);
 *   2. --wipe: its record is written (wipe-pending.ts), before the credentials go;
 *   3. delete the keychain entry: the point of no return. Only then is the agent stopped (SIGTERM
 *      by default, then wait until its endpoint is gone), and any other that serves the state dir
 *      by then (restarted during the sign-out), then the session file deleted, and then an agent
 *      that started before it went and serves it (host.ts refuses one that serves after);
 *   4. --wipe: remove from home what the bucket has (wipe.ts): whatever it lacks stays, as `kept`;
 *      the record is removed once it is done: with nobody signed in, `logout --wipe` finishes a
 *      wipe that was cut off.
 * Whatever fails before step 3 signs nothing out and leaves a running agent as the user had it:
 * running, resumed if it was paused only for the sign-out, paused if the user had paused it (or
 * the error says it could not be, and how to). Logout never stops it before: it could not start it
 * again where it ran (the desktop app, a service). What fails from step 3 on says what is signed
 * out, where the agent is, and what a rerun of `strata logout` does (it finishes: it stops the
 * agent, removes the session, with no pass, and wipes). An agent the user had running is paused
 * for the sign-out only, and recorded so (logout-pause.ts): a rerun resumes it for its flush, or,
 * once it is stopped, records it unpaused, so that no later agent starts paused on its account.
 * From step 3 on that pause holds until the rerun (or the user's resume), though the sign-out's
 * process has ended: an agent that did not stop, or one that does not answer yet, must not sync on
 * a session the user asked to end (after a head marked final, with the credentials gone), and
 * nothing is lost while it waits: its files stay on disk, and the rerun flushes through it.
 * A session whose credentials are already gone from the keychain (a sign-out cut off between
 * step 3 and the session's delete, or an entry removed by hand) is still signed out: a running
 * agent, which holds the credentials it started with, still flushes; with none, no pass can run
 * here, so what it would have uploaded stays on disk, unsynced (`unflushed`). Left in place, such a session
 * could only be ended by signing in again. --wipe is refused then: it would delete those changes;
 * unless the `wiping` record is this very session's: a `logout --wipe` passed, recorded its wipe and
 * was cut off before the session went, and its rerun finishes it by the recorded format.
 * An agent whose pid is alive but whose endpoint does not answer (stopped, or too busy) is refused
 * (E_AGENT_NOT_ANSWERING): it cannot flush, and it may sync again at any moment, taking a pass's
 * or a wipe's work here for the user's (the wiped files as deletes). So is one found so in step 3
 * (started during the sign-out): it is not signalled (control.json's pid is no proof it is still
 * an agent), and the session is not deleted, nor home wiped, under it; a rerun finishes once it is gone.
 * No sign-out happens while a lay is still running (laying.ts: E_LAYING): it would write the session back; nor
 * over a lay that was cut off (E_NOT_LAID): the pass would upload its half-laid files. --wipe
 * is refused up front unless the session is a VDI one: on a persistent PC the local copy is the
 * user's working copy.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ControlClient, probeAgent, readControlFile, type ControlInfo } from '../control/index.js';
import { deleteCredentials, loadCredentials, userPrincipal, type S3Credentials } from '../credentials/index.js';
import { StrataError, isStrataError } from '../errors.js';
import { isErrno } from '../fsutil.js';
import { openRepository, type Repository } from '../repo/index.js';
import { defaultStateDir } from '../state/index.js';
import type { FileChunker } from '../snapshot/index.js';
import { flushAndHold, withNote, type HeldAgent } from './flush.js';
import { LAYING_FILE, lastLayCutOff, runningLay } from './laying.js';
import { holdLogoutPause, logoutPaused, unpauseStopped } from './logout-pause.js';
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
  /** 'agent': the running agent flushed (a pass of the whole of each folder); 'pass': a pass ran here; 'none': no restore ever finished, so there was nothing to flush. */
  flushed: 'agent' | 'pass' | 'none';
  snapshot?: string;
  credentialsRemoved: boolean;
  /**
   * 'no-credentials': the keychain no longer had the credentials and no agent ran, so no pass could
   * run; changes it would have uploaded stay on disk.
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
  // A running agent is flushed and paused, and stopped only once the credentials are gone: until
  // then a step that fails leaves it as the user had it (logout could not start it again where it
  // ran: the desktop app, a service).
  let held: { agent: HeldAgent; info: ControlInfo } | undefined;
  // From the flush on a step that fails says what it leaves, and what `strata logout` run again does.
  const rerun = `strata logout${opts.wipe ? ' --wipe' : ''} again`;
  const notSignedOut = `; nothing was signed out: ${rerun} runs one more pass and signs out${opts.wipe ? ', then wipes' : ''}`;
  if (running) {
    const client = new ControlClient(info, join(opts.stateDir, 'control.json'));
    const agent = await flushAndHold(client, timeoutMs, { pause: strataCommand('pause', opts.stateDir), resume: strataCommand('resume', opts.stateDir) }, { stateDir: opts.stateDir, pid: info.pid });
    held = { agent, info };
    if (creds) format = await finishAgentFlush(opts.stateDir, creds, notSignedOut).catch((err: unknown) => agent.release(err, ''));
    flushed = 'agent';
  } else if (session.laid === undefined) {
    flushed = 'none';
  } else if (creds) {
    ({ snapshot, format } = await flushHere(session, creds, opts));
    flushed = 'pass';
  } else {
    flushed = 'none';
  }
  const unflushed = creds === undefined && !running && session.laid !== undefined;
  const undone = (err: unknown): Promise<never> => (held ? held.agent.release(err, notSignedOut) : Promise.reject(withNote(err, notSignedOut)));
  // Once the session is gone, only the record tells a rerun what a wipe cut off had left to do; it is
  // written before the credentials go, so that a rerun without them still finishes the wipe.
  await (opts.wipe ? recordPendingWipe(opts.stateDir, { session, ...(format ? { format } : {}) }) : removePendingWipe(opts.stateDir)).catch(undone);
  // Past the credentials' delete the sign-out is not undone: the pause of an agent the user had
  // running holds until a rerun or the user's resume, though this process fails or is cut off.
  if (held !== undefined && !held.agent.wasPaused) await holdLogoutPause(opts.stateDir, held.info.pid).catch(undone);
  const credentialsRemoved = creds !== undefined && (await (opts.deleteCredentials ?? deleteCredentials)(session.org.org, userPrincipal(session.user)).catch(undone));
  // No way back from here: the credentials are gone, and nothing could start the agent again.
  const inPart = `; signed out only in part: the credentials are gone from the keychain, the session is not`;
  const rest = `${opts.wipe ? ' and wipes' : ''}, with no pass (without the credentials, changes since the last pass stay on disk, unsynced)`;
  const left = (note: string): string => `${inPart}, and the agent ${note}: ${rerun} removes the session${rest}`;
  const stop = opts.stopAgent ?? ((i: ControlInfo) => stopBySignal(opts.stateDir, i, timeoutMs));
  if (held !== undefined) await stopHeld(opts.stateDir, stop, held, left);
  else await stopUnheld(opts.stateDir, stop, left);
  await (opts.deleteSession ?? deleteSession)(opts.stateDir).catch((err: unknown) => {
    throw withNote(err, `${inPart}${held ? ' (the agent was stopped)' : ''}: ${rerun} removes it${rest}`);
  });
  // An agent that started before the session went and served after the look above: it sees the
  // session gone once it serves (host.ts), or is seen here.
  await stopStarted(opts.stateDir, stop, held?.info.token).then(
    async (stopped) => {
      if (stopped && held !== undefined && !held.agent.wasPaused) await unpauseStopped(opts.stateDir);
    },
    (err: unknown) => {
      throw withNote(err, `; signed out, but an agent that started while it signed out did not stop: stop it${opts.wipe ? ', then run strata logout --wipe again to wipe' : ''}`);
    },
  );
  const { wiped, kept } = opts.wipe ? await wipeRecorded(session, opts.stateDir, format, opts.chunker) : { wiped: [], kept: [] };
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

/** --wipe (wipe.ts), then its record removed; a failure says what is left and how to finish. */
async function wipeRecorded(session: Session, stateDir: string, format: WipeFormat | undefined, chunker: FileChunker | undefined): Promise<{ wiped: string[]; kept: string[] }> {
  const done = await wipeLayer(session, stateDir, format, chunker).catch((err: unknown) => {
    throw withNote(err, '; signed out, but the wipe stopped part-way (what it had not reached is still in home): strata logout --wipe again finishes it');
  });
  await removePendingWipe(stateDir).catch((err: unknown) => {
    throw withNote(err, '; signed out and wiped, but the record of the wipe could not be removed: strata logout --wipe again removes it');
  });
  return done;
}

/**
 * Stops the agent held for the sign-out, and any that started meanwhile (stopStarted: it crashed,
 * and its service started it again), then records it unpaused again if the user had it so: paused
 * only for the sign-out, it must not start paused at the next sign-in. `left(note)` says what a
 * failure leaves, `note` saying where the agent is.
 */
async function stopHeld(stateDir: string, stop: (info: ControlInfo) => Promise<void>, { agent, info }: { agent: HeldAgent; info: ControlInfo }, left: (note: string) => string): Promise<void> {
  const paused = agent.wasPaused ? 'paused, did not stop (a rerun stops it first)' : 'paused for the sign-out only, did not stop (a rerun stops it first, and records it unpaused, as the user had it)';
  await stop(info).catch((err: unknown) => {
    throw withNote(err, left(`(pid ${info.pid}), ${paused}`));
  });
  await stopStarted(stateDir, stop, info.token).catch((err: unknown) => {
    throw withNote(err, left(`held for it (pid ${info.pid}) stopped, but not this one (stop it first)`));
  });
  if (!agent.wasPaused) await unpauseLeft(stateDir, left);
}

/**
 * With no agent held (none answered at the start): any that started during the sign-out stopped
 * (stopStarted) before the session goes, then an agent an earlier sign-out left paused recorded
 * unpaused (logout-pause.ts).
 */
async function stopUnheld(stateDir: string, stop: (info: ControlInfo) => Promise<void>, left: (note: string) => string): Promise<void> {
  await stopStarted(stateDir, stop).catch((err: unknown) => {
    throw withNote(err, left('that started while it signed out did not stop (stop it first)'));
  });
  if (await logoutPaused(stateDir)) await unpauseLeft(stateDir, left);
}

/**
 * Stops every agent that serves the state dir now, other than the one whose token is `stopped`:
 * one started during the sign-out (the agent held for it crashed, and its service or the user
 * started it again) would otherwise run on over a deleted session, paused by the sign-out's record
 * for good. Only one that answers is stopped: a control.json naming a process gone is no agent.
 * One whose pid lives and whose endpoint takes the connection but does not answer (probeAgent
 * 'silent': stopped, or too busy) is not signalled either — control.json gives a pid, not proof
 * that it is still that agent's — but it may sync again at any moment, over a session deleted or
 * a wipe: that fails, E_AGENT_NOT_ANSWERING naming its pid. Returns whether it stopped any.
 */
async function stopStarted(stateDir: string, stop: (info: ControlInfo) => Promise<void>, stopped?: string): Promise<boolean> {
  const done = new Set(stopped === undefined ? [] : [stopped]);
  let stoppedAny = false;
  for (;;) {
    const info = await readControlFile(stateDir).catch(() => undefined);
    if (info === undefined || done.has(info.token)) return stoppedAny;
    const probe = await probeAgent(info);
    if (probe === 'gone') return stoppedAny;
    if (probe === 'silent') throw notAnswering(stateDir, info);
    done.add(info.token);
    await stop(info);
    stoppedAny = true;
  }
}

/** E_AGENT_NOT_ANSWERING for an agent that started during the sign-out (`info`): its pid lives, its endpoint takes connections and answers none. */
function notAnswering(stateDir: string, info: ControlInfo): StrataError {
  return new StrataError('E_AGENT_NOT_ANSWERING', `an agent that started while it signed out (pid ${info.pid}) is running but does not answer (stopped, or busy), so it was not stopped and may sync again at any moment (if pid ${info.pid} is not Strata, remove control.json from the state dir)`, { path: stateDir });
}

/** The agent, stopped and paused only for a sign-out (logout-pause.ts), recorded unpaused; or `left(note)` says it could not be. */
async function unpauseLeft(stateDir: string, left: (note: string) => string): Promise<void> {
  await unpauseStopped(stateDir).catch((err: unknown) => {
    throw withNote(err, left(`is stopped, but recorded paused (its next start is paused: ${strataCommand('resume', stateDir)} then)`));
  });
}

/** With nobody signed in: `logout --wipe` finishes the wipe of a sign-out cut off (wipe-pending.ts); else `notSignedIn`. */
async function finishCutOffWipe(opts: SignOutOptions, notSignedIn: StrataError): Promise<SignOutResult> {
  const pending = await readPendingWipe(opts.stateDir);
  if (pending === undefined) throw notSignedIn;
  const { session, format } = pending;
  if (!opts.wipe) {
    throw new StrataError('E_NOT_SIGNED_IN', `nobody is signed in, but the wipe of ${session.user}'s sign-out was cut off: run strata logout --wipe to finish it`, { path: opts.stateDir });
  }
  const { wiped, kept } = await wipeRecorded(session, opts.stateDir, format, opts.chunker);
  return { org: session.org.org, user: session.user, flushed: 'none', credentialsRemoved: false, wipeFinished: true, wiped, kept };
}

/** The session user's credentials, or undefined when the keychain has none (a keychain that fails, fails). */
async function credentialsIfAny(session: Session): Promise<S3Credentials | undefined> {
  return loadCredentials(session.org.org, userPrincipal(session.user)).catch((err: unknown) => {
    if (isStrataError(err, 'E_NO_CREDENTIALS')) return undefined;
    throw err;
  });
}

/**
 * After the agent's flush, which synced every folder: in a VDI session, this device's head marked
 * final (as flushHere does), by the session as the flush left it; returns the repository's format,
 * for the wipe. A failure says that nothing was signed out (`notSignedOut`, or markFinal's own).
 */
async function finishAgentFlush(stateDir: string, creds: S3Credentials, notSignedOut: string): Promise<WipeFormat> {
  const noted = (err: unknown): never => {
    throw withNote(err, notSignedOut);
  };
  const session = await readSession(stateDir).catch(noted);
  const org = openOrgStore(session.org, creds);
  try {
    const repo = await openRepository(org.store).catch(noted);
    if (session.mode === 'vdi') await markFinal(repo, session);
    return repo.format;
  } finally {
    org.close();
  }
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
    if (r.status === 'synced' && session.mode === 'vdi') await markFinal(repo, session);
    return { ...(r.status === 'synced' && r.snapshot !== undefined ? { snapshot: r.snapshot } : {}), format: repo.format };
  } finally {
    org.close();
  }
}

async function markFinal(repo: Repository, session: Session): Promise<void> {
  await markHeadFinal(repo, `user/${session.user}`, session.device).catch((err: unknown) => {
    throw withNote(err, '; the pass synced, but its head could not be marked final: nothing was signed out, and strata logout again runs one more pass and marks it');
  });
}

/** The `wiping` record (wipe-pending.ts) when it is that of a sign-out of `session`: one that passed and recorded its wipe. */
async function wipeRecordedFor(stateDir: string, session: Session): Promise<PendingWipe | undefined> {
  const pending = await readPendingWipe(stateDir);
  return pending !== undefined && JSON.stringify(pending.session) === JSON.stringify(session) ? pending : undefined;
}

/** `strata <command>` for the agent of `stateDir`: without --state-dir it is the default state dir's. */
function strataCommand(command: string, stateDir: string): string {
  if (resolve(stateDir) === resolve(defaultStateDir(process.platform, process.env, homedir()))) return `strata ${command}`;
  return `strata ${command} --state-dir ${/^[\w./:\\-]+$/.test(stateDir) ? stateDir : `'${stateDir.replaceAll("'", `'\\''`)}'`}`;
}

/** SIGTERM to the agent's pid, then wait until its control.json is gone (it removes it on exit). */
export async function stopBySignal(stateDir: string, info: ControlInfo, timeoutMs: number, kill: (pid: number, signal: NodeJS.Signals) => void = (pid, signal) => process.kill(pid, signal)): Promise<void> {
  try {
    kill(info.pid, 'SIGTERM');
  } catch (err) {
    // Gone already: stopped. Any other refusal (EPERM: an agent of another user's) leaves it running over the session.
    if (isErrno(err, 'ESRCH')) return;
    throw new StrataError('E_AGENT_STOP', `the agent (pid ${info.pid}) could not be sent SIGTERM: ${(err as Error).message}`, { path: stateDir }, { cause: err });
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const current = await readControlFile(stateDir).catch((err: unknown) => (isStrataError(err, 'E_AGENT_NOT_RUNNING') ? undefined : info));
    if (current === undefined || current.token !== info.token) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new StrataError('E_AGENT_STOP', `the agent (pid ${info.pid}) did not stop within ${Math.round(timeoutMs / 1000)} s of SIGTERM`, { path: stateDir });
}
