/**
 * The session file: who is signed in on this machine, written by `strata login` into the state
 * dir and read by `strata agent` and `strata logout`.
 *
 *   <stateDir>/session.json  { version: 1, source, org, user, home, mode, device, signedIn, laid? }
 *
 * `org` is a copy of the validated org config (the agent must not depend on a share or a URL being
 * reachable at every start), `source` where it came from. `laid` records the layers the last
 * restore laid onto home, or live sync has switched it to since — the org layers' root trees are
 * the agent's `lower` (DESIGN §1: the lower tree must be the one the disk was laid from, not a
 * newer one; during a switch, `orgBefore` names the old ones too); it is absent until a restore
 * has finished.
 *
 * What must hold: the file never holds a secret (credentials live only in the OS keychain); it is
 * written atomically with mode 0600; read back it is validated like anything untrusted, and a
 * bad file is E_BAD_SESSION naming it, a missing one E_NOT_SIGNED_IN.
 */
import { readFile, unlink } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { OrgConfigError, parseOrgConfig, type MachineMode, type OrgConfig } from '../../shared/org-config.js';
import { isBlobId } from '../chunker/hash.js';
import { StrataError } from '../errors.js';
import { isErrno, makeDirsDurably } from '../fsutil.js';
import { isOrgLayer, isUserId } from '../profile/index.js';
import { isDeviceId } from '../repo/names.js';
import { writeFileAtomic } from '../state/fsutil.js';

export const SESSION_FILE = 'session.json';
export const SESSION_VERSION = 1;
const MAX_SESSION_BYTES = 1024 * 1024;

/** One layer as a restore laid it: the snapshot it took and that snapshot's root tree. */
export interface LaidLayer {
  layer: string;
  snapshot: string;
  root: string;
}

export interface Laid {
  /** Org layers, lowest first; their roots are the agent's `lower`. */
  org: LaidLayer[];
  /**
   * Set while live sync switches home to `org` (new versions, other layers; signin/refresh.ts):
   * the org layers home was laid from before. Removed once a pass has synced the switch.
   */
  orgBefore?: LaidLayer[];
  /** The user layer's snapshot laid, absent for a user whose layer had none yet. */
  user?: LaidLayer;
  /** ISO 8601 time the restore finished. */
  time: string;
}

export interface Session {
  version: typeof SESSION_VERSION;
  /** The org config's file (absolute) or URL, as given to `strata login`. */
  source: string;
  org: OrgConfig;
  user: string;
  /** Absolute path of the home folder the layer is laid onto. */
  home: string;
  mode: MachineMode;
  /** This machine's device id (the state dir's). */
  device: string;
  signedIn: string;
  laid?: Laid;
}

export function sessionPath(stateDir: string): string {
  return join(stateDir, SESSION_FILE);
}

export async function writeSession(stateDir: string, session: Session): Promise<void> {
  const file = sessionPath(stateDir);
  validateSession(JSON.parse(JSON.stringify(session)), file);
  await makeDirsDurably(stateDir, 0o700);
  await writeFileAtomic(file, `${JSON.stringify(session, null, 2)}\n`);
}

/** The session of this state dir; E_NOT_SIGNED_IN when there is none. */
export async function readSession(stateDir: string): Promise<Session> {
  const file = sessionPath(stateDir);
  const text = await readRecord(file);
  if (text === undefined) throw new StrataError('E_NOT_SIGNED_IN', 'nobody is signed in with this state dir: run strata login first', { path: stateDir });
  if (text.length > MAX_SESSION_BYTES) throw bad(file, `is over ${MAX_SESSION_BYTES} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw bad(file, 'is not valid JSON');
  }
  return validateSession(json, file);
}

/** The text of a record the state dir keeps (the session, logout-pause.ts's, wipe-pending.ts's), or undefined when there is none. */
export async function readRecord(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'ENOTDIR')) return undefined;
    throw err;
  }
}

/** Removes the session file; false when there was none. */
export async function deleteSession(stateDir: string): Promise<boolean> {
  try {
    await unlink(sessionPath(stateDir));
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'ENOTDIR')) return false;
    throw err;
  }
}

function bad(file: string, problem: string): StrataError {
  return new StrataError('E_BAD_SESSION', `${problem}; sign in again (strata login)`, { path: file });
}

function record(value: unknown, file: string, what: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(file, `${what} is not an object`);
  const r = value as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!keys.includes(k)) throw bad(file, `${what} has an unknown field ${JSON.stringify(k.slice(0, 40))}`);
  return r;
}

function laidLayer(value: unknown, file: string, what: string, org: boolean): LaidLayer {
  const r = record(value, file, what, ['layer', 'snapshot', 'root']);
  const layerOk = org ? isOrgLayer(r.layer) : typeof r.layer === 'string' && r.layer.startsWith('user/') && isUserId(r.layer.slice(5));
  if (!layerOk) throw bad(file, `${what}.layer is not ${org ? 'an org' : 'a user'} layer id`);
  if (!isBlobId(r.snapshot) || !isBlobId(r.root)) throw bad(file, `${what} must name a snapshot id and a root tree id`);
  return { layer: r.layer as string, snapshot: r.snapshot, root: r.root };
}

function time(value: unknown, file: string, what: string): string {
  if (typeof value !== 'string' || !Number.isFinite(Date.parse(value))) throw bad(file, `${what} is not a time`);
  return value;
}

function validateLaid(value: unknown, file: string): Laid {
  const r = record(value, file, 'laid', ['org', 'orgBefore', 'user', 'time']);
  const orgList = (v: unknown, what: string): LaidLayer[] => {
    if (!Array.isArray(v)) throw bad(file, `${what} is not an array`);
    return v.map((l, i) => laidLayer(l, file, `${what}[${i}]`, true));
  };
  const out: Laid = { org: orgList(r.org, 'laid.org'), time: time(r.time, file, 'laid.time') };
  if (r.orgBefore !== undefined) out.orgBefore = orgList(r.orgBefore, 'laid.orgBefore');
  if (r.user !== undefined) out.user = laidLayer(r.user, file, 'laid.user', false);
  return out;
}

export function validateSession(value: unknown, file: string): Session {
  const r = record(value, file, 'the session', ['version', 'source', 'org', 'user', 'home', 'mode', 'device', 'signedIn', 'laid']);
  if (r.version !== SESSION_VERSION) throw bad(file, `version ${JSON.stringify(r.version)} is not supported`);
  if (typeof r.source !== 'string' || r.source === '') throw bad(file, 'source is missing');
  let org: OrgConfig;
  try {
    org = parseOrgConfig(r.org, `${file}: org`);
  } catch (err) {
    if (err instanceof OrgConfigError) throw bad(file, err.message);
    throw err;
  }
  if (!isUserId(r.user)) throw bad(file, 'user is not a valid user id');
  if (typeof r.home !== 'string' || !isAbsolute(r.home)) throw bad(file, 'home is not an absolute path');
  if (r.mode !== 'vdi' && r.mode !== 'persistent') throw bad(file, 'mode must be "vdi" or "persistent"');
  if (!isDeviceId(r.device)) throw bad(file, 'device is not a valid device id');
  const session: Session = {
    version: SESSION_VERSION,
    source: r.source,
    org,
    user: r.user,
    home: r.home,
    mode: r.mode,
    device: r.device,
    signedIn: time(r.signedIn, file, 'signedIn'),
  };
  if (r.laid !== undefined) session.laid = validateLaid(r.laid, file);
  return session;
}
