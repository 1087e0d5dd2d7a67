/**
 * control.json: how a client on this machine finds the running agent's endpoint and proves it is
 * the same user. The file holds the URL, the token and the agent's pid; it must be readable by
 * its owner only, in a state dir no one else can write to, because whoever reads the token may
 * command the agent.
 */
import { lstat, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError } from '../errors.js';
import { isErrno, makeDirs } from '../fsutil.js';
import { writeFileAtomic } from '../state/fsutil.js';

export const CONTROL_FILE = 'control.json';

export interface ControlInfo {
  /** `http://127.0.0.1:<port>` (or `http://[::1]:<port>`): always a loopback address. */
  url: string;
  /** 256 random bits, base64url. */
  token: string;
  pid: number;
}

export function controlFilePath(stateDir: string): string {
  return join(stateDir, CONTROL_FILE);
}

const LOOPBACK_URL = /^http:\/\/(127\.0\.0\.1|\[::1\]):(\d{1,5})$/;

/** The loopback host and port of a control URL, or undefined when it is not one. */
export function loopbackAddress(url: string): { host: string; port: number } | undefined {
  const m = LOOPBACK_URL.exec(url);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1] === '[::1]' ? '::1' : '127.0.0.1', port };
}

const ownUid = (): number | undefined => process.getuid?.();

/**
 * Creates the state dir (0700) if needed and refuses one that is not ours or that others may
 * write to: they could swap control.json for one of their own.
 */
export async function prepareStateDir(stateDir: string): Promise<void> {
  await makeDirs(stateDir, 0o700);
  const st = await lstat(stateDir);
  if (!st.isDirectory()) throw new StrataError('E_CONTROL_UNSAFE', 'the state dir is not a directory', { path: stateDir });
  if (process.platform === 'win32') return;
  const uid = ownUid();
  if (uid !== undefined && st.uid !== uid) throw new StrataError('E_CONTROL_UNSAFE', `the state dir belongs to uid ${st.uid}, not to this user`, { path: stateDir });
  if ((st.mode & 0o022) !== 0) {
    throw new StrataError('E_CONTROL_UNSAFE', `the state dir is writable by others (mode ${(st.mode & 0o777).toString(8)}); run chmod 700 on it`, { path: stateDir });
  }
}

/** Replaces control.json atomically; the file is created 0600 and never exists with other modes. */
export async function writeControlFile(stateDir: string, info: ControlInfo): Promise<void> {
  await writeFileAtomic(controlFilePath(stateDir), JSON.stringify(info) + '\n');
}

function parseControlInfo(text: string, file: string): ControlInfo {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new StrataError('E_CONTROL_FILE', 'is not valid JSON; remove it and restart the agent', { path: file });
  }
  const v = value as Partial<ControlInfo> | null;
  if (typeof v !== 'object' || v === null || typeof v.url !== 'string' || typeof v.token !== 'string' || v.token === '' || !Number.isSafeInteger(v.pid)) {
    throw new StrataError('E_CONTROL_FILE', 'must hold {url, token, pid}; remove it and restart the agent', { path: file });
  }
  // The token must never travel off this machine, whatever the file says.
  if (!loopbackAddress(v.url)) throw new StrataError('E_CONTROL_FILE', `url ${JSON.stringify(v.url)} is not a loopback http address`, { path: file });
  return { url: v.url, token: v.token, pid: v.pid as number };
}

/** Reads control.json: E_AGENT_NOT_RUNNING when there is none, E_CONTROL_UNSAFE when another user wrote it. */
export async function readControlFile(stateDir: string): Promise<ControlInfo> {
  const file = controlFilePath(stateDir);
  let text: string;
  try {
    const st = await lstat(file);
    const uid = ownUid();
    if (!st.isFile()) throw new StrataError('E_CONTROL_UNSAFE', 'is not a regular file', { path: file });
    if (uid !== undefined && st.uid !== uid) throw new StrataError('E_CONTROL_UNSAFE', `belongs to uid ${st.uid}, not to this user`, { path: file });
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'ENOTDIR')) throw new StrataError('E_AGENT_NOT_RUNNING', 'no agent is running for this state dir (no control.json)', { path: stateDir });
    throw err;
  }
  return parseControlInfo(text, file);
}

/**
 * Removes control.json if it still names our endpoint. Another agent may have taken the state
 * dir over since; its file must stay.
 */
export async function removeControlFile(stateDir: string, token: string): Promise<void> {
  const file = controlFilePath(stateDir);
  try {
    const current = parseControlInfo(await readFile(file, 'utf8'), file);
    if (current.token === token) await unlink(file);
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'ENOTDIR') || err instanceof StrataError) return;
    throw err;
  }
}
