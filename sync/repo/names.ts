/**
 * Names that come out of the repository and end up as paths on a disk: tree entry names, layer
 * ids, device ids, symlink targets. They are untrusted, and a bad one must be refused before any
 * caller joins it to a path. The rules are the union of what is dangerous on Linux, macOS and
 * Windows, because a layer written on one is restored on the others.
 */
import { StrataError, type ErrorWhere } from '../errors.js';

const MAX_NAME_BYTES = 255;
const MAX_ID_LENGTH = 128;

// Windows maps these names to devices whatever the extension ("con.txt" is the console).
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[1-9]|lpt[1-9]|conin\$|conout\$)(\..*)?$/i;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE = /\p{Cs}/u;
const DRIVE_PREFIX = /^[A-Za-z]:/;

/** Why `name` is not a safe directory entry name, or undefined when it is. */
export function entryNameProblem(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (name === '.' || name === '..') return `is ${JSON.stringify(name)}`;
  if (name.includes('/') || name.includes('\\')) return 'contains a path separator';
  if (name.includes('\0')) return 'contains NUL';
  if (CONTROL.test(name)) return 'contains a control character';
  if (LONE_SURROGATE.test(name)) return 'is not valid Unicode';
  if (DRIVE_PREFIX.test(name)) return 'looks like a drive path';
  if (WINDOWS_RESERVED.test(name)) return 'is a reserved device name on Windows';
  if (name.endsWith('.') || name.endsWith(' ')) return 'ends with a dot or a space';
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) return `is longer than ${MAX_NAME_BYTES} bytes`;
  return undefined;
}

export function isValidEntryName(name: unknown): name is string {
  return typeof name === 'string' && entryNameProblem(name) === undefined;
}

/** Throws E_BAD_PATH naming the object (`where.key`) when `name` is not a safe entry name. */
export function checkEntryName(name: unknown, where: ErrorWhere = {}): string {
  if (typeof name !== 'string') throw new StrataError('E_BAD_PATH', 'entry name is not a string', where);
  const problem = entryNameProblem(name);
  if (problem) throw new StrataError('E_BAD_PATH', `entry name ${JSON.stringify(name)} ${problem}`, where);
  return name;
}

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._@-]*$/;

function idProblem(id: string): string | undefined {
  if (id.length === 0 || id.length > MAX_ID_LENGTH) return `must be 1–${MAX_ID_LENGTH} characters`;
  if (!SAFE_ID.test(id)) return 'may contain only letters, digits, ".", "_", "@" and "-", and must start with a letter or digit';
  return undefined;
}

export function isLayerId(layer: unknown): layer is string {
  if (typeof layer !== 'string') return false;
  const m = /^(user|org)\/(.*)$/s.exec(layer);
  return m !== null && idProblem(m[2] ?? '') === undefined;
}

/** Layer ids are `user/<userId>` or `org/<name>`; throws E_BAD_LAYER. */
export function checkLayerId(layer: unknown, where: ErrorWhere = {}): string {
  if (!isLayerId(layer)) {
    throw new StrataError('E_BAD_LAYER', `invalid layer id ${JSON.stringify(layer)}: must be user/<id> or org/<name> with a simple name`, where);
  }
  return layer;
}

export function isDeviceId(device: unknown): device is string {
  return typeof device === 'string' && idProblem(device) === undefined;
}

/** Throws E_BAD_DEVICE. */
export function checkDeviceId(device: unknown, where: ErrorWhere = {}): string {
  if (typeof device !== 'string') throw new StrataError('E_BAD_DEVICE', 'device id is not a string', where);
  const problem = idProblem(device);
  if (problem) throw new StrataError('E_BAD_DEVICE', `invalid device id ${JSON.stringify(device)}: ${problem}`, where);
  return device;
}
