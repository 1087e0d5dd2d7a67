/**
 * Test helpers for suites that need a real OS keychain.
 *
 * `npm test` (scripts/test.mjs) runs the tests inside a throwaway D-Bus session with an unlocked
 * gnome-keyring and sets STRATA_TEST_KEYCHAIN=1. Run another way, a suite uses whatever keychain
 * answers (entries under a unique test org, removed afterwards) and skips when none does. Under
 * CI=true it must not skip: it runs and fails loudly, because a green CI that silently skipped
 * the keychain would prove nothing.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { findCredentialsAsync, AsyncEntry } from '@napi-rs/keyring';
import { describeError } from '../errors.js';
import { checkKeychain } from './keychain.js';

/** A `skip` value for describe/it: a reason when no keychain answers locally, false otherwise. */
export async function keychainSkipReason(env: NodeJS.ProcessEnv = process.env): Promise<string | false> {
  if (env.CI === 'true' || env.STRATA_TEST_KEYCHAIN === '1') return false;
  try {
    await checkKeychain();
    return false;
  } catch (err) {
    return `no OS keychain (${describeError(err).slice(0, 120)}…): run \`npm test\`, which starts a throwaway gnome-keyring`;
  }
}

/** An org name no other run uses, so tests never touch real entries. */
export function uniqueTestOrg(label = 'test'): string {
  return `strata-${label}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Removes every entry of the org's service (also those a test wrote behind the module's back). */
export async function removeTestOrg(org: string): Promise<void> {
  const service = `strata:${org}`;
  for (const { account } of await findCredentialsAsync(service).catch(() => [])) {
    await new AsyncEntry(service, account).deleteCredential().catch(() => false);
  }
}

/** The pid of the process that owns the Secret Service's name on this D-Bus session. */
export function secretServicePid(): number {
  const reply = execFileSync('dbus-send', ['--session', '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.GetConnectionUnixProcessID', 'string:org.freedesktop.secrets'], { encoding: 'utf8' });
  const pid = Number(/uint32 (\d+)/.exec(reply)?.[1]);
  assert.ok(pid > 0, reply);
  return pid;
}

/**
 * Kills npm test's throwaway Secret Service daemon with `signal`, noted as stopped on purpose
 * (scripts/test-keyring.mjs reports only the deaths nobody caused); its pid. Refuses on any other
 * keychain: never kill the daemon of someone's desktop session.
 */
export function killTestSecretService(signal: NodeJS.Signals = 'SIGKILL'): number {
  const dir = process.env.STRATA_TEST_KEYRING_DIR;
  assert.ok(dir, "not on npm test's throwaway keyring (STRATA_TEST_KEYRING_DIR is not set)");
  const pid = secretServicePid();
  process.kill(pid, signal);
  appendFileSync(join(dir, 'keyring.kills'), `${pid}\n`);
  return pid;
}
