/**
 * S3 credentials and how they are named and encoded in the keychain.
 *
 * One keychain entry per principal: service `strata:<org>`, account `user/<id>` for a user and
 * `admin` for the org's admin credentials (the "/" keeps a user called "admin" apart from them).
 * The secret is the JSON `{"accessKeyId":…,"secretAccessKey":…}`. What is read back is untrusted
 * — another program may have written the entry — so it is size-capped, parsed and checked field
 * by field, and a bad entry is E_BAD_CREDENTIALS naming the entry. Messages must never contain a
 * secret, nor the raw text of an entry.
 */
import { isOrgName } from '../../shared/org-config.js';
import { StrataError } from '../errors.js';
import { isLayerId } from '../repo/names.js';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** Whose credentials: a user of the org, or the org's admin (kept apart from every user's). */
export type Principal = { kind: 'user'; user: string } | { kind: 'admin' };

export function userPrincipal(user: string): Principal {
  return { kind: 'user', user };
}

export const ADMIN: Principal = { kind: 'admin' };

export interface EntryName {
  service: string;
  account: string;
}

/** Throws E_USAGE for an org or user id that could not name an entry (or a layer). */
export function entryName(org: string, who: Principal): EntryName {
  if (!isOrgName(org)) throw new StrataError('E_USAGE', `invalid org name ${JSON.stringify(org)}: 1–128 of letters, digits, ".", "_", "@", "-"`);
  if (who.kind === 'admin') return { service: `strata:${org}`, account: 'admin' };
  if (!isLayerId(`user/${who.user}`)) {
    throw new StrataError('E_USAGE', `invalid user id ${JSON.stringify(who.user)}: 1–128 of letters, digits, ".", "_", "@", "-", starting with a letter or digit`);
  }
  return { service: `strata:${org}`, account: `user/${who.user}` };
}

/** How an entry is named in messages. */
export function describeEntry(name: EntryName): string {
  return `keychain entry ${name.service} ${name.account}`;
}

/** Larger than any real pair of keys; an entry beyond it is not ours. */
export const MAX_ENTRY_CHARS = 4096;
const MAX_FIELD = 256;

/** The problem with one credential field, or undefined: 1–256 visible ASCII characters. */
export function credentialFieldProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'is not a string';
  if (value.length === 0) return 'is empty';
  if (value.length > MAX_FIELD) return `is longer than ${MAX_FIELD} characters`;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return 'contains a space, a control character or a non-ASCII character';
  }
  return undefined;
}

/** Checks credentials given by a caller (a prompt, stdin, a test); throws E_USAGE naming `source`. */
export function checkCredentials(value: S3Credentials, source: string): S3Credentials {
  for (const field of ['accessKeyId', 'secretAccessKey'] as const) {
    const problem = credentialFieldProblem(value[field]);
    if (problem) throw new StrataError('E_USAGE', `${source}: the ${field === 'accessKeyId' ? 'access key id' : 'secret access key'} ${problem}`);
  }
  return { accessKeyId: value.accessKeyId, secretAccessKey: value.secretAccessKey };
}

export function encodeCredentials(creds: S3Credentials): string {
  return JSON.stringify({ accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey });
}

/** Parses an entry's secret as read back from the keychain; throws E_BAD_CREDENTIALS. */
export function decodeCredentials(text: string, name: EntryName): S3Credentials {
  const bad = (problem: string): StrataError =>
    new StrataError('E_BAD_CREDENTIALS', `${describeEntry(name)} ${problem}; run strata login again to replace it`);
  if (text.length > MAX_ENTRY_CHARS) throw bad(`is longer than ${MAX_ENTRY_CHARS} characters`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // The parser's message would quote the text, which may hold the secret.
    throw bad('is not valid JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad('is not a JSON object');
  const record = json as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (key !== 'accessKeyId' && key !== 'secretAccessKey') throw bad(`has an unexpected field ${JSON.stringify(key.slice(0, 40))}`);
  }
  for (const field of ['accessKeyId', 'secretAccessKey'] as const) {
    if (!Object.hasOwn(record, field)) throw bad(`has no ${field}`);
    const problem = credentialFieldProblem(record[field]);
    if (problem) throw bad(`has a ${field} that ${problem}`);
  }
  return { accessKeyId: record.accessKeyId as string, secretAccessKey: record.secretAccessKey as string };
}
