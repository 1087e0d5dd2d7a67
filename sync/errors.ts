/**
 * Typed errors for the engine.
 *
 * Every error the engine raises carries a stable code (`E_…`) and, where it applies, the object
 * key or the path involved, so that one line tells a user what failed and where:
 *
 *   E_CHUNK_HASH_MISMATCH packs/3f/3fa9…: chunk 91c2… does not match its id
 *
 * Codes are part of the CLI's contract (tests and scripts match on them); add new ones, never
 * rename old ones.
 */

export type ErrorCode =
  // object store
  | 'E_NOT_FOUND'
  | 'E_TRANSIENT'
  | 'E_PERMANENT'
  | 'E_AUTH'
  // everything else is added by the module that raises it
  | `E_${string}`;

export interface ErrorWhere {
  /** Object key in the store, relative to the store's prefix. */
  key?: string;
  /** A path on the local file system, or inside a layer. */
  path?: string;
}

export class StrataError extends Error {
  readonly code: ErrorCode;
  readonly key: string | undefined;
  readonly path: string | undefined;

  constructor(code: ErrorCode, message: string, where: ErrorWhere = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StrataError';
    this.code = code;
    this.key = where.key;
    this.path = where.path;
  }

  /** The one-line form shown to users: code, where, what; `show` may shorten the where for a line people read (the CLI). */
  override toString(show: (where: string) => string = (w) => w): string {
    const where = this.key ?? this.path;
    return where === undefined ? `${this.code} ${this.message}` : `${this.code} ${show(where)}: ${this.message}`;
  }
}

export function isStrataError(err: unknown, code?: ErrorCode): err is StrataError {
  return err instanceof StrataError && (code === undefined || err.code === code);
}

/** The one-line description of any thrown value, for logs and the CLI; `show` as in StrataError.toString. */
export function describeError(err: unknown, show: (where: string) => string = (w) => w): string {
  if (err instanceof StrataError) return err.toString(show);
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!code) return err.message;
    const { what, path } = callParts(err as NodeJS.ErrnoException);
    return path === undefined ? `${code} ${what}` : `${code} ${show(path)}: ${what}`;
  }
  return String(err);
}

/**
 * What an error says without its code and the path it names, for a message that wraps it and says
 * where itself: "no space left on device (write)" of Node's "ENOSPC: no space left on device,
 * write '/a/b'"; any other error's message.
 */
export function whatFailed(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return typeof (err as NodeJS.ErrnoException).code === 'string' ? callParts(err as NodeJS.ErrnoException).what : err.message;
}

/**
 * Node's "ENOTDIR: not a directory, mkdir '/a/b'" apart: what, with the call ("not a directory
 * (mkdir)"), and the path when the message names it so; a call on a descriptor names none
 * ("ENOSPC: no space left on device, write"). A message of another shape is what, whole.
 */
function callParts(err: NodeJS.ErrnoException): { what: string; path?: string } {
  const code = err.code ?? '';
  const text = err.message.startsWith(`${code}: `) ? err.message.slice(code.length + 2) : err.message;
  if (err.syscall === undefined) return { what: text };
  const path = typeof err.path === 'string' ? err.path : undefined;
  const call = path === undefined ? `, ${err.syscall}` : `, ${err.syscall} '${path}'`;
  if (!text.endsWith(call)) return { what: text };
  return { what: `${text.slice(0, -call.length)} (${err.syscall})`, ...(path !== undefined && { path }) };
}

/**
 * The code a failed system call is reported with (asReported), by what the user or a script does
 * about it: make room; get access (or write elsewhere: a read-only file system); fix the path (not
 * there, or not the kind asked for: a file where a folder should be, a folder or a link where a
 * file should be); move what stands there; shorten the path; close programs or raise `ulimit -n`.
 * Any other errno is E_IO (an I/O error, EXDEV …): nothing better to do than read its words.
 */
const REPORTED_AS: ReadonlyMap<string, ErrorCode> = new Map([
  ['ENOSPC', 'E_DISK_FULL'],
  ['EDQUOT', 'E_DISK_FULL'],
  ['EACCES', 'E_ACCESS_DENIED'],
  ['EPERM', 'E_ACCESS_DENIED'],
  ['EROFS', 'E_ACCESS_DENIED'],
  ['ENOENT', 'E_PATH_NOT_FOUND'],
  ['ENOTDIR', 'E_PATH_NOT_FOUND'],
  ['EISDIR', 'E_PATH_NOT_FOUND'],
  ['ELOOP', 'E_PATH_NOT_FOUND'],
  ['EEXIST', 'E_PATH_EXISTS'],
  ['ENOTEMPTY', 'E_PATH_EXISTS'],
  ['ENAMETOOLONG', 'E_PATH_TOO_LONG'],
  ['EMFILE', 'E_TOO_MANY_OPEN_FILES'],
  ['ENFILE', 'E_TOO_MANY_OPEN_FILES'],
]);

/**
 * An error as the agent reports it (its status, its answers) and the CLI prints it, with a code
 * people can act on: a StrataError as it is; a failed system call (Node's errno error: an `E…`
 * code) by REPORTED_AS, its path apart. Anything else is a bug of the agent's: undefined, for the
 * caller's internal code.
 */
export function asReported(err: unknown): StrataError | undefined {
  if (err instanceof StrataError) return err;
  const code = (err as NodeJS.ErrnoException | null | undefined)?.code;
  if (!(err instanceof Error) || typeof code !== 'string' || !/^E[A-Z0-9]+$/.test(code)) return undefined;
  const as = REPORTED_AS.get(code) ?? 'E_IO';
  const what = whatFailed(err);
  const path = (err as NodeJS.ErrnoException).path;
  // A path the words name already (a rename's two) is said once, in them.
  return new StrataError(as, what, typeof path === 'string' && !what.includes(path) ? { path } : {}, { cause: err });
}

/** A path too long to read in an error's line (past PATH_MAX, say), kept to `max` characters: its start and end, `…` between. */
export function shortenMiddle(path: string, max = 160): string {
  if (path.length <= max) return path;
  const head = Math.ceil((max - 1) / 2);
  return `${path.slice(0, head)}…${path.slice(path.length - (max - 1 - head))}`;
}
