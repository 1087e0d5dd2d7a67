/**
 * Signing in (DESIGN §4, §6): read the org config, prove the user's credentials against the
 * bucket, keep them in the OS keychain, and write the session. Laying the layer onto home is
 * restore.ts; the CLI runs one after the other.
 *
 * Order matters, and each step only starts when the one before succeeded:
 *   0. no agent is running for the state dir (its files are about to be laid over);
 *   1. the org config and the user id are valid (nothing asked yet);
 *   2. the keychain works (checkKeychain) — before anyone types a secret;
 *   3. the credentials are asked for and verified with a signed read of the repository;
 *   4. only then are they saved, in the keychain and nowhere else;
 *   5. the session file (no secrets) is written.
 * A failure at any step leaves no credentials behind: a session that cannot be written puts back
 * what the keychain held before for this user.
 */
import { resolve } from 'node:path';
import type { OrgConfig } from '../../shared/org-config.js';
import { ADMIN, checkKeychain, deleteCredentials, loadCredentials, saveCredentials, userPrincipal, type S3Credentials } from '../credentials/index.js';
import { probeControl, readControlFile } from '../control/index.js';
import { StrataError, isStrataError } from '../errors.js';
import { checkUserId } from '../profile/index.js';
import type { Repository } from '../repo/index.js';
import { openAgentState } from '../state/index.js';
import { canonicalSource, loadOrgConfig, type FetchFn } from './org-source.js';
import { openOrgStore, openVerified, type OrgStore } from './org-store.js';
import { SESSION_VERSION, readSession, writeSession, type Session } from './session.js';

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
}

/** Steps 1–5 above. */
export async function signIn(opts: SignInOptions): Promise<SignedIn> {
  // Laying files under a running agent would race it; one session per state dir.
  const running = await readControlFile(opts.stateDir).catch(() => undefined);
  if (running && (await probeControl(running))) {
    throw new StrataError('E_AGENT_ALREADY_RUNNING', `an agent (pid ${running.pid}) is running for this state dir: sign out first (strata logout)`, { path: opts.stateDir });
  }
  const config = await loadOrgConfig(opts.org, opts.fetch);
  const user = checkUserId(opts.user);
  const { org, repo, creds } = await verifiedCredentials(config, opts.org, opts.credentials);
  try {
    const state = await openAgentState(opts.stateDir, opts.newDeviceId ? { newDeviceId: opts.newDeviceId } : {});
    const home = resolve(opts.home);
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
    await keepCredentials(config.org, user, creds, () => writeSession(opts.stateDir, session));
    return { session, org, repo };
  } catch (err) {
    org.close();
    throw err;
  }
}

/**
 * Steps 4–5: saves the credentials, then runs `write` (the session). When that fails, the keychain
 * gets back what it held before for this user — a failed sign-in leaves no credentials behind, and
 * does not sign out an earlier session either.
 */
async function keepCredentials(org: string, user: string, creds: S3Credentials, write: () => Promise<void>): Promise<void> {
  const who = userPrincipal(user);
  const before = await loadCredentials(org, who).catch((err: unknown) => {
    if (isStrataError(err, 'E_NO_CREDENTIALS')) return undefined;
    throw err;
  });
  await saveCredentials(org, who, creds);
  try {
    await write();
  } catch (err) {
    await (before === undefined ? deleteCredentials(org, who) : saveCredentials(org, who, before)).catch(() => undefined);
    throw err;
  }
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
