/**
 * Reading the org config an admin distributed: a file on this machine, or an https URL.
 *
 * What must hold: whatever the source, the text goes through shared/org-config's parser and
 * nothing else is accepted; every failure is one StrataError naming the source — E_BAD_ORG_CONFIG
 * for a config that is wrong, E_ORG_CONFIG_UNREADABLE for one that could not be read or fetched.
 * A URL must be https (the config says which server gets the user's signed requests), except on
 * loopback, where a test or a local tool may serve it over plain http.
 */
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { OrgConfigError, parseOrgConfigText, type OrgConfig } from '../../shared/org-config.js';
import { StrataError, describeError } from '../errors.js';

/** An org config is a few hundred bytes; more than this is not one. */
export const MAX_ORG_CONFIG_BYTES = 256 * 1024;
const FETCH_TIMEOUT_MS = 30_000;

export type FetchFn = (url: string, init: { signal: AbortSignal; redirect: 'error' }) => Promise<Response>;

export function isUrlSource(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

/** Reads and validates the org config at `source` (a file path or an http(s) URL). */
export async function loadOrgConfig(source: string, fetchFn: FetchFn = fetch): Promise<OrgConfig> {
  const text = isUrlSource(source) ? await fetchText(source, fetchFn) : await readText(source);
  try {
    return parseOrgConfigText(text, source);
  } catch (err) {
    if (err instanceof OrgConfigError) throw new StrataError('E_BAD_ORG_CONFIG', err.message, {}, { cause: err });
    throw err;
  }
}

/** How a source is recorded in the session: a URL as given, a file as an absolute path. */
export function canonicalSource(source: string): string {
  return isUrlSource(source) ? source : resolve(source);
}

function unreadable(source: string, why: string, cause?: unknown): StrataError {
  return new StrataError('E_ORG_CONFIG_UNREADABLE', `the org config ${why}`, { path: source }, { cause });
}

async function readText(source: string): Promise<string> {
  try {
    const st = await stat(source);
    if (!st.isFile()) throw unreadable(source, 'is not a file');
    if (st.size > MAX_ORG_CONFIG_BYTES) throw unreadable(source, `is ${st.size} bytes, over the ${MAX_ORG_CONFIG_BYTES}-byte limit`);
    return await readFile(source, 'utf8');
  } catch (err) {
    if (err instanceof StrataError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw unreadable(source, code === 'ENOENT' ? 'does not exist (give the file the admin distributed, or its https URL)' : `cannot be read (${code ?? describeError(err)})`, err);
  }
}

function checkUrl(source: string): void {
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    throw unreadable(source, 'URL is not valid');
  }
  if (url.username || url.password) throw unreadable(source, 'URL must not contain credentials');
  const loopback = ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
  if (url.protocol !== 'https:' && !loopback) throw unreadable(source, 'must be fetched over https (it says which server gets your requests)');
}

async function fetchText(source: string, fetchFn: FetchFn): Promise<string> {
  checkUrl(source);
  let res: Response;
  try {
    res = await fetchFn(source, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'error' });
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    throw unreadable(source, `could not be fetched (${describeError(cause ?? err)})`, err);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw unreadable(source, `could not be fetched: HTTP ${res.status}`);
  }
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > MAX_ORG_CONFIG_BYTES) {
    await res.body?.cancel();
    throw unreadable(source, `is ${declared} bytes, over the ${MAX_ORG_CONFIG_BYTES}-byte limit`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body ?? []) {
    size += (chunk as Uint8Array).byteLength;
    if (size > MAX_ORG_CONFIG_BYTES) throw unreadable(source, `is over the ${MAX_ORG_CONFIG_BYTES}-byte limit`);
    chunks.push(Buffer.from(chunk as Uint8Array));
  }
  return Buffer.concat(chunks).toString('utf8');
}
