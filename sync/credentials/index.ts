/**
 * Credentials: the S3 access key and secret of each user, and separately of the org's admin,
 * kept in the OS keychain (DESIGN §4, §6) — macOS Keychain, Windows Credential Manager, the
 * Secret Service on Linux — through @napi-rs/keyring.
 *
 * What must hold:
 * - Credentials live only in the OS keychain. With none available every operation fails with
 *   E_NO_KEYCHAIN saying what to install, start or unlock; nothing is ever written to a file,
 *   and on Linux nothing goes to the kernel keyring the library would otherwise fall back to.
 * - One entry per principal: service `strata:<org>`, account `user/<id>` or `admin`, so a
 *   user's and the admin's credentials never overwrite each other, nor one org's another's.
 * - What is read back is untrusted: a malformed entry is E_BAD_CREDENTIALS naming the entry,
 *   a missing one E_NO_CREDENTIALS; no message ever contains a secret.
 * - `checkKeychain` proves the keychain can store and return an entry, so that `strata login`
 *   can refuse before anyone types a secret.
 *
 * - Every operation is time-limited (bounded.ts): it runs in a child process, killed when it takes
 *   too long, so that a keychain that never answers can neither block a caller for good nor keep
 *   the process from exiting; it fails with E_NO_KEYCHAIN naming the operation and the entry.
 *
 * `promptSecrets` / `readSecretsFromStream` read an access key and secret from a person or a
 * pipe (the formats are in read-secrets.ts).
 */
export { checkKeychain, saveCredentials, loadCredentials, deleteCredentials } from './bounded.js';
export { ADMIN, userPrincipal, entryName, checkCredentials, type Principal, type S3Credentials, type EntryName } from './secrets.js';
export { parseSecretsText, readSecretsFromStream, promptSecrets, type TerminalInput } from './read-secrets.js';
