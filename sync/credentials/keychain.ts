/**
 * The OS keychain through @napi-rs/keyring: macOS Keychain, Windows Credential Manager, and on
 * Linux (and the BSDs) the Secret Service of the D-Bus session (GNOME Keyring, KWallet,
 * KeePassXC).
 *
 * Two quirks of the library shape this file:
 * - On Linux, when no Secret Service answers, it silently falls back to the kernel keyring
 *   (keyutils): memory that is gone at reboot, not the user's keychain. So every operation on
 *   Linux first asks the Secret Service itself (`findCredentialsAsync` talks to it directly and
 *   fails loudly), and a save is read back from the Secret Service; credentials that did not
 *   land there are removed again and the save fails.
 * - `getPassword` reports every failure as "no entry". On Linux entries are therefore read
 *   through the Secret Service search, which tells the two apart.
 * - A D-Bus session or Secret Service that takes a call and never answers (a stopped daemon) makes
 *   the library wait for good. Searches are therefore given ANSWER_MS, after which the keychain
 *   counts as unusable (E_NO_KEYCHAIN), and a sign-in screen says so instead of waiting. Any other
 *   call can hang too (an unlock prompt nobody answers), and a hung call keeps the process from
 *   exiting: so the functions here run in a child process, each operation given a limit as a
 *   whole (bounded.ts, which index.ts exports).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AsyncEntry, findCredentialsAsync, type Credential } from '@napi-rs/keyring';
import { StrataError } from '../errors.js';
import { decodeCredentials, describeEntry, encodeCredentials, entryName, checkCredentials, type EntryName, type Principal, type S3Credentials } from './secrets.js';

const SECRET_SERVICE = process.platform === 'linux' || process.platform === 'freebsd' || process.platform === 'openbsd';

/**
 * How the library reports a Secret Service that went away in the middle of a call: its daemon
 * died (gnome-keyring aborts on a client that disconnects while opening a session, a known
 * upstream bug), or was replaced and no longer knows the session the call was made in.
 */
const SERVICE_VANISHED = /Error\.NoReply\b|disconnected from message bus without replying|Secret\.Error\.NoSession\b/;
/** The pauses before the calls made again: the daemon takes a moment to start again, longer on a busy machine. */
const SERVICE_RESTART_PAUSES_MS = [100, 500, 1500];

/**
 * How long a Secret Service search may take: one that has not answered by then never will (a bus
 * or daemon that hangs; the library waits for good). A search never prompts, so a user typing a
 * password is never cut off.
 */
const ANSWER_MS = 20_000;

/**
 * A search still unanswered: each holds one of libuv's few worker threads for as long as it
 * hangs, so no other is sent while it does (a Try again must not starve the agent's file I/O).
 */
let unanswered: Promise<unknown> | undefined;

/** The entry `checkKeychain` writes and removes; `strata:` + an org name can never equal it. */
const PROBE_SERVICE = 'strata-keychain-probe';

/**
 * Proves the keychain works before anyone types a secret: reaches it, writes a probe entry,
 * reads it back and removes it. Throws E_NO_KEYCHAIN saying what to install, start or unlock.
 */
export async function checkKeychain(): Promise<void> {
  const probe: EntryName = { service: PROBE_SERVICE, account: `probe-${process.pid}` };
  const value = `probe ${process.pid}`;
  await store(probe, value);
  try {
    const back = SECRET_SERVICE ? (await secretServiceEntries(probe)).map((c) => c.password) : [await new AsyncEntry(probe.service, probe.account).getPassword()];
    if (!back.includes(value)) throw noKeychain('an entry written to it could not be read back');
  } finally {
    await new AsyncEntry(probe.service, probe.account).deleteCredential().catch(() => false);
  }
}

/** Stores (or replaces) the credentials of `who` in `org`, in the OS keychain and nowhere else. */
export async function saveCredentials(org: string, who: Principal, creds: S3Credentials): Promise<void> {
  const name = entryName(org, who);
  await store(name, encodeCredentials(checkCredentials(creds, describeEntry(name))));
}

/** The credentials of `who` in `org`. Throws E_NO_CREDENTIALS when there are none. */
export async function loadCredentials(org: string, who: Principal): Promise<S3Credentials> {
  const name = entryName(org, who);
  let secrets: string[];
  if (SECRET_SERVICE) {
    secrets = [...new Set((await secretServiceEntries(name)).map((c) => c.password))];
  } else {
    const password = await new AsyncEntry(name.service, name.account).getPassword().catch((err: unknown) => {
      throw noKeychain(reasonOf(err));
    });
    secrets = password === undefined || password === null ? [] : [password];
  }
  if (secrets.length === 0) {
    const login = who.kind === 'admin' ? 'strata admin login' : 'strata login';
    throw new StrataError('E_NO_CREDENTIALS', `no ${describeEntry(name)}: sign in first (${login})`);
  }
  if (secrets.length > 1) throw new StrataError('E_BAD_CREDENTIALS', `${describeEntry(name)} exists more than once with different contents; delete them (strata logout) and sign in again`);
  return decodeCredentials(secrets[0] as string, name);
}

/** Removes the credentials of `who` in `org`; false when there were none. */
export async function deleteCredentials(org: string, who: Principal): Promise<boolean> {
  const name = entryName(org, who);
  const entry = new AsyncEntry(name.service, name.account);
  if (!SECRET_SERVICE) {
    try {
      return await entry.deleteCredential();
    } catch (err) {
      throw noKeychain(reasonOf(err));
    }
  }
  const before = (await secretServiceEntries(name)).length;
  // Several items can match one entry when another program wrote one too: remove them all.
  for (let i = 0; i < before; i++) await again(() => entry.deleteCredential()).catch(() => false);
  if ((await secretServiceEntries(name)).length > 0) throw noKeychain(`${describeEntry(name)} could not be removed`);
  return before > 0;
}

async function store(name: EntryName, secret: string): Promise<void> {
  // Asked first so that the library never gets a secret while it would fall back to keyutils.
  if (SECRET_SERVICE) await secretServiceEntries(name);
  const entry = new AsyncEntry(name.service, name.account);
  try {
    await again(() => entry.setPassword(secret));
  } catch (err) {
    throw noKeychain(reasonOf(err));
  }
  if (SECRET_SERVICE && !(await secretServiceEntries(name)).some((c) => c.password === secret)) {
    await entry.deleteCredential().catch(() => false);
    throw noKeychain('the keyring library stored the entry somewhere other than the Secret Service');
  }
}

/**
 * The Secret Service's items for one entry, asked of the service itself; E_NO_KEYCHAIN if it
 * cannot be reached, or if the entry is locked and stays so.
 */
async function secretServiceEntries(name: EntryName): Promise<Credential[]> {
  const find = async (): Promise<Credential[]> => (await again(() => answered(() => findCredentialsAsync(name.service)))).filter((c) => c.account === name.account);
  try {
    return await find();
  } catch (err) {
    if (!/locked/i.test(reasonOf(err))) throw noKeychain(reasonOf(err));
  }
  // The search does not unlock; the library's own read asks the Secret Service to (a desktop
  // prompt, or KeePassXC's). Whatever it answers, the search then says whether that worked.
  await new AsyncEntry(name.service, name.account).getPassword().catch(() => undefined);
  try {
    return await find();
  } catch (err) {
    throw noKeychain(reasonOf(err));
  }
}

/** `call`, or an error once it has not answered within ANSWER_MS (or an earlier call still has not). */
function answered<T>(call: () => Promise<T>): Promise<T> {
  if (unanswered) return Promise.reject(new Error(`the Secret Service has not answered a search sent over ${ANSWER_MS / 1000} s ago`));
  const pending = call();
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const stuck = (unanswered = pending.then(
        () => undefined,
        () => undefined,
      ));
      void stuck.then(() => {
        if (unanswered === stuck) unanswered = undefined;
      });
      reject(new Error(`the Secret Service did not answer within ${ANSWER_MS / 1000} s`));
    }, ANSWER_MS);
  });
  return Promise.race([pending, limit]).finally(() => clearTimeout(timer));
}

/**
 * A Secret Service call, made again (after each of `pausesMs`) while the service vanished in the
 * middle of it: D-Bus activation, or the desktop's session manager, starts the daemon again for
 * the next call. Every call made through here is idempotent (a search, a store of the same
 * secret, a removal).
 */
export async function again<T>(call: () => Promise<T>, pausesMs: readonly number[] = SERVICE_RESTART_PAUSES_MS): Promise<T> {
  for (const pause of pausesMs) {
    try {
      return await call();
    } catch (err) {
      if (!SECRET_SERVICE || !SERVICE_VANISHED.test(reasonOf(err))) throw err;
    }
    await sleep(pause);
  }
  return call();
}

function reasonOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // The library appends a Rust backtrace after the first line.
  return (message.split('\n')[0] ?? '').replace(/^Couldn't access platform storage: /, '').trim() || 'unknown error';
}

/** E_NO_KEYCHAIN with what to do about the cause. */
export function noKeychain(reason: string): StrataError {
  const never = 'Strata keeps credentials only in the OS keychain, never in a file';
  if (!SECRET_SERVICE) return new StrataError('E_NO_KEYCHAIN', `the OS keychain refused (${reason}); unlock it and try again. ${never}`);
  let what: string;
  if (/locked|prompt was dismissed/i.test(reason)) {
    what = 'the Secret Service keyring is locked and could not be unlocked: unlock the login keyring (in the desktop session, or with `gnome-keyring-daemon --replace --unlock --components=secrets`, its password on stdin)';
  } else if (/not answer/i.test(reason)) {
    what =
      'the Secret Service (the keychain) on the D-Bus session bus does not answer: if it asks to be unlocked, unlock it; else restart it (`gnome-keyring-daemon --replace --unlock --components=secrets`, the keyring password on stdin, or sign out of the desktop and in again), then try again';
  } else if (/no result found/i.test(reason)) {
    what = 'the Secret Service has no default keyring: create one (`gnome-keyring-daemon --unlock --components=secrets`, a new password on stdin, creates "login")';
  } else {
    what =
      'no Secret Service is reachable on the D-Bus session bus: sign in to a desktop session, or on a headless machine install dbus and gnome-keyring (apt-get install dbus gnome-keyring) and run strata inside `dbus-run-session` after `gnome-keyring-daemon --unlock --components=secrets` (the keyring password on stdin)';
  }
  return new StrataError('E_NO_KEYCHAIN', `no usable OS keychain (${reason}): ${what}. ${never}`);
}
