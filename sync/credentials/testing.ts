/**
 * Test helpers for suites that need a real OS keychain.
 *
 * `npm test` (scripts/test.mjs) runs the tests inside a throwaway D-Bus session with an unlocked
 * gnome-keyring and sets STRATA_TEST_KEYCHAIN=1. Run another way, a suite uses whatever keychain
 * answers (entries under a unique test org, removed afterwards) and skips when none does. Under
 * CI=true it must not skip: it runs and fails loudly, because a green CI that silently skipped
 * the keychain would prove nothing.
 */
import { randomBytes } from 'node:crypto';
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
