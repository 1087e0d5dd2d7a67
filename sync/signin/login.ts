/**
 * Signing in (DESIGN §4, §6): read the org config, prove the user's credentials against the
 * bucket, keep them in the OS keychain, and write the session. Laying the layer onto home is
 * restore.ts; the CLI runs one after the other.
 *
 * Order matters, and each step only starts when the one before succeeded:
 *   0. no agent is running for the state dir (its files are about to be laid over), not even one
 *      that does not answer (E_AGENT_NOT_ANSWERING: stopped or busy, it may sync on at any moment),
 *      and no other sign-in is laying onto it (E_LAYING);
 *   1. the org config, the user id and home are valid (nothing asked yet; home is a folder, or
 *      can be made where no file stands in the way), and no other user or org is signed in on the
 *      state dir (E_SIGNED_IN; checked again under the hold of step 4);
 *   2. the keychain works (checkKeychain) — before anyone types a secret;
 *   3. the credentials are asked for and verified with a signed read of the repository;
 *   4. the state dir is held (laying.ts holdLaying): of sign-ins and lays starting on it at once
 *      exactly one goes on, the others fail E_LAYING before they write anything; the hold lasts
 *      until this sign-in's lay takes it over and ends, so no other lay runs under the writes below
 *      and no other sign-in's writes land under this lay;
 *   5. only then are the credentials saved, in the keychain and nowhere else;
 *   6. the session file (no secrets) is written.
 * A failure at any step, or a lay after it that fails (the caller runs `undo`), leaves the state
 * dir and the keychain as they were: the keychain gets back what it held before for this user, the
 * session file and the folder's settled.json and base.json their old bytes (or go), the index
 * objects the lay kept in the state dir go (agent indexesDir: the bucket's, but new there), the hold goes
 * while home is untouched, and a state dir this sign-in made goes. One thing stays: a `laying`
 * marker the lay wrote (laying.ts), since home may no longer be as it was. A failure that means
 * another sign-in is laying onto the state dir (E_LAYING, or any failure while that other process's
 * marker stands) undoes nothing: what the state dir and the keychain hold then is the other
 * sign-in's, which an undo would sign out under its running lay.
 */
import { lstat, readdir, readFile, rm, rmdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { OrgConfig } from '../../shared/org-config.js';
import { folderFiles, folderStateDir, indexesDir } from '../agent/index.js';
import { ADMIN, checkKeychain, deleteCredentials, loadCredentials, saveCredentials, userPrincipal, type S3Credentials } from '../credentials/index.js';
import { probeAgent, readControlFile } from '../control/index.js';
import { StrataError, isStrataError } from '../errors.js';
import { checkUserId } from '../profile/index.js';
import type { Repository } from '../repo/index.js';
import { canSyncFileSystem, isErrno, makeDirsDurably, syncFileSystem } from '../fsutil.js';
import { openAgentState, STATE_FILE } from '../state/index.js';
import { writeFileAtomic } from '../state/fsutil.js';
import { canonicalSource, loadOrgConfig, type FetchFn } from './org-source.js';
import { openOrgStore, openVerified, type OrgStore } from './org-store.js';
import { holdLaying, layFsyncedEach, LAYING_FILE, refuseWhileLaying, releaseHold, runningLay } from './laying.js';
import { SESSION_VERSION, readSession, sessionPath, writeSession, type Session } from './session.js';

export interface SignInOptions {
  /** The org config: a file path or an http(s) URL. */
  org: string;
  user: string;
  /** The folder the layer is laid onto (default: the OS user's home). */
  home: string;
  stateDir: string;
  /** Asked only once the keychain is known to work. */
  credentials: () => Promise<S3Credentials>;
  /** Device id for a state dir that has none yet. */
  newDeviceId?: () => string;
  fetch?: FetchFn;
  now?: () => Date;
}

export interface SignedIn {
  session: Session;
  /** The org's bucket, open: the caller closes it. */
  org: OrgStore;
  repo: Repository;
  /**
   * Puts the state dir and the keychain back as they were before this sign-in (a lay that failed
   * with `failure`); nothing while another sign-in is laying, or when `failure` is E_LAYING.
   */
  undo(failure?: unknown): Promise<void>;
}

/** Steps 0–6 above. */
export async function signIn(opts: SignInOptions): Promise<SignedIn> {
  // Laying files under a running agent would race it; one session per state dir. An agent that is
  // alive but does not answer (stopped, or too busy) runs all the same: it may sync on at any moment.
  const running = await readControlFile(opts.stateDir).catch(() => undefined);
  const agent = running ? await probeAgent(running) : 'gone';
  if (running && agent === 'answers') {
    throw new StrataError('E_AGENT_ALREADY_RUNNING', `an agent (pid ${running.pid}) is running for this state dir: sign out first (strata logout)`, { path: opts.stateDir });
  }
  if (running && agent === 'silent') {
    throw new StrataError(
      'E_AGENT_NOT_ANSWERING',
      `the agent (pid ${running.pid}) is running for this state dir but does not answer: a lay here would race it; try again, or stop it and sign out first (if pid ${running.pid} is not Strata, remove control.json from the state dir)`,
      { path: opts.stateDir },
    );
  }
  await refuseWhileLaying(opts.stateDir);
  const config = await loadOrgConfig(opts.org, opts.fetch);
  const user = checkUserId(opts.user);
  const home = resolve(opts.home);
  await checkHome(home);
  await refuseOtherSession(opts.stateDir, config.org, user);
  const { org, repo, creds } = await verifiedCredentials(config, opts.org, opts.credentials);
  let undo: SignedIn['undo'] | undefined;
  try {
    // The prompt may have taken a while: another sign-in may have started laying meanwhile. From
    // here on this one holds the state dir (laying.ts), so that none can start until its lay ends.
    // Anything at the path counts, a symlink to a folder not made yet too: the undo never removes what was there.
    const dirExisted = await exists(opts.stateDir, lstat);
    await makeDirsDurably(opts.stateDir, 0o700);
    const clean = await holdLaying(opts.stateDir).catch(async (err: unknown) => {
      // Only while empty: another sign-in may have made it its own meanwhile.
      if (!dirExisted) await rmdir(opts.stateDir).catch(() => undefined);
      throw err;
    });
    undo = await undoer(config.org, user, opts.stateDir, home, { dirExisted, markerExisted: !clean });
    const state = await openAgentState(opts.stateDir, opts.newDeviceId ? { newDeviceId: opts.newDeviceId } : {});
    // Another sign-in may have ended while the secrets were asked for.
    await refuseOtherSession(opts.stateDir, config.org, user);
    // What an earlier sign-in of the same user laid onto the same home stays known until the new restore replaces it.
    const before = await readSession(opts.stateDir).catch(() => undefined);
    const laid = before?.org.org === config.org && before.user === user && before.home === home ? before.laid : undefined;
    const session: Session = {
      version: SESSION_VERSION,
      source: canonicalSource(opts.org),
      org: config,
      user,
      home,
      mode: config.mode,
      device: state.deviceId,
      signedIn: (opts.now ?? (() => new Date()))().toISOString(),
      ...(laid ? { laid } : {}),
    };
    await saveCredentials(config.org, userPrincipal(user), creds);
    await writeSession(opts.stateDir, session);
    return { session, org, repo, undo };
  } catch (err) {
    org.close();
    await undo?.(err).catch(() => undefined);
    throw err;
  }
}

/**
 * E_SIGNED_IN while the state dir holds the session of another user or org: it was never signed
 * out, so its changes may not be flushed, and its credentials would stay in the keychain with no
 * session left to sign them out (and its files in home would be adopted into this user's layer).
 * The same user signing in again is fine: the session is theirs. A session that cannot be read
 * names nobody.
 */
async function refuseOtherSession(stateDir: string, org: string, user: string): Promise<void> {
  const current = await readSession(stateDir).catch(() => undefined);
  if (current !== undefined && (current.org.org !== org || current.user !== user)) {
    throw new StrataError('E_SIGNED_IN', `${current.user} (${current.org.org}) is signed in on this state dir: sign them out first (strata logout), which syncs their changes and forgets their credentials`, { path: stateDir });
  }
}

/** Home must be a folder, or a path where one can be made: a file there (or in a parent's place) is refused before anything is written. */
async function checkHome(home: string): Promise<void> {
  const found = await stat(home).catch((err: unknown) => {
    if (isErrno(err, 'ENOENT')) return undefined;
    if (isErrno(err, 'ENOTDIR')) return null;
    throw err;
  });
  if (found === null || (found !== undefined && !found.isDirectory())) {
    throw new StrataError('E_BAD_TARGET', 'home is not a folder, or a file stands where one of its parent folders should be', { path: home });
  }
}

/**
 * Records what the keychain holds for `user` and what the state dir holds, and returns what puts
 * them back as they were: the keychain entry (or none), the session file's bytes (or none), a
 * state dir that did not exist removed, and in one that did, a device id (agent.json) it lacked
 * and the folder's settled.json and base.json as they were, and none of the index objects the lay
 * kept (indexesDir) that were not there. A `laying` marker the failed lay wrote
 * stays only where a session is back: its agent must lay again before it syncs over a home half
 * laid (laying.ts). Without one, the marker's other reader, the next lay, need not read every file
 * once what the failed lay wrote is durable: one syncfs of home where the lay left that to the end
 * (Linux); none where it fsynced each file (elsewhere, or where syncfs fails: the marker says so).
 * A syncfs that fails then, a disk's error, fails the undo and the marker stays.
 */
async function undoer(org: string, user: string, stateDir: string, home: string, was: { dirExisted: boolean; markerExisted: boolean }): Promise<SignedIn['undo']> {
  const who = userPrincipal(user);
  const file = sessionPath(stateDir);
  const marker = join(stateDir, LAYING_FILE);
  const stateFile = join(stateDir, STATE_FILE);
  const creds = await loadCredentials(org, who).catch((err: unknown) => {
    if (isStrataError(err, 'E_NO_CREDENTIALS')) return undefined;
    throw err;
  });
  const { dirExisted, markerExisted } = was;
  const stateExisted = await exists(stateFile);
  const sessionWas = await stat(file).catch((err: unknown) => {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  });
  // Anything but a file there (writeSession fails on it) is left alone.
  const session = sessionWas?.isFile() ? await readFile(file) : undefined;
  // The lay removes the last pass's record (settled.json: a signed-out machine's next lay reads what
  // it had synced there) and writes the folder's base; the folder is the one its session names (sessionFolder).
  const { settledFile, baseFile } = folderFiles(folderStateDir(stateDir, { root: home, layer: `user/${user}` }));
  const putBack = await Promise.all([...[settledFile, baseFile].map(fileAsItIs), addedGo(indexesDir(stateDir))]);
  return async (failure) => {
    if (isStrataError(failure, 'E_LAYING') || (await runningLay(stateDir)) !== undefined) return;
    await (creds === undefined ? deleteCredentials(org, who) : saveCredentials(org, who, creds)).catch(() => undefined);
    if (sessionWas === undefined) await rm(file, { force: true });
    else if (session !== undefined) await writeFileAtomic(file, session);
    for (const put of putBack) await put();
    // A lay that never started left home as it was: the hold goes, whatever the session.
    await releaseHold(stateDir);
    if (sessionWas === undefined && !markerExisted && (await exists(marker))) {
      if (!(await layFsyncedEach(stateDir)) && canSyncFileSystem() && (await exists(home))) await syncFileSystem(home);
      await rm(marker, { force: true });
    }
    if (!dirExisted) await rm(stateDir, { recursive: true, force: true });
    // The device id this sign-in gave the state dir goes too: a later --device must not be refused for it.
    else if (!stateExisted) await rm(stateFile, { force: true });
  };
}

/** What puts `file` back as it is now: its bytes, or no file; anything but a file there is left alone. */
async function fileAsItIs(file: string): Promise<() => Promise<void>> {
  const was = await stat(file).catch((err: unknown) => {
    if (isErrno(err, 'ENOENT', 'ENOTDIR')) return undefined;
    throw err;
  });
  if (was === undefined) return () => rm(file, { force: true });
  if (!was.isFile()) return () => Promise.resolve();
  const bytes = await readFile(file);
  return () => writeFileAtomic(file, bytes);
}

/** What removes what is added under folder `dir` from now on: `dir` itself where nothing is there now; nothing where it cannot be listed. */
async function addedGo(dir: string): Promise<() => Promise<void>> {
  const was = await readdir(dir, { recursive: true }).catch((err: unknown) => (isErrno(err, 'ENOENT') ? undefined : null));
  if (was === undefined) return () => rm(dir, { recursive: true, force: true });
  if (was === null) return () => Promise.resolve();
  const before = new Set(was);
  return async () => {
    for (const n of await readdir(dir, { recursive: true }).catch(() => [])) if (!before.has(n)) await rm(join(dir, n), { recursive: true, force: true });
  };
}

async function exists(path: string, how = stat): Promise<boolean> {
  return how(path).then(
    () => true,
    (err: unknown) => {
      if (isErrno(err, 'ENOENT')) return false;
      throw err;
    },
  );
}

/** Steps 2–3: the keychain works, then the credentials open the repository. The store stays open. */
async function verifiedCredentials(config: OrgConfig, source: string, ask: () => Promise<S3Credentials>): Promise<{ org: OrgStore; repo: Repository; creds: S3Credentials }> {
  await checkKeychain();
  const creds = await ask();
  const org = openOrgStore(config, creds);
  try {
    return { org, repo: await openVerified(org, false, source), creds };
  } catch (err) {
    org.close();
    throw err;
  }
}

/** `strata admin login`: the admin's credentials, verified, into the keychain under ADMIN. */
export async function adminSignIn(opts: { org: string; credentials: () => Promise<S3Credentials>; fetch?: FetchFn }): Promise<{ org: OrgConfig; location: string }> {
  const config = await loadOrgConfig(opts.org, opts.fetch);
  const { org, creds } = await verifiedCredentials(config, opts.org, opts.credentials);
  try {
    await saveCredentials(config.org, ADMIN, creds);
    return { org: config, location: org.location };
  } finally {
    org.close();
  }
}
