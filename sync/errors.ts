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
    return code ? describeCoded(err as NodeJS.ErrnoException, code, show) : err.message;
  }
  return String(err);
}

/**
 * Node's "ENOTDIR: not a directory, mkdir '/a/b'" in the same form as a StrataError, the code said
 * once: "ENOTDIR /a/b: not a directory (mkdir)". A message of another shape keeps its words.
 */
function describeCoded(err: NodeJS.ErrnoException, code: string, show: (where: string) => string): string {
  const text = err.message.startsWith(`${code}: `) ? err.message.slice(code.length + 2) : err.message;
  const path = typeof err.path === 'string' ? err.path : undefined;
  const call = path !== undefined && err.syscall !== undefined ? `, ${err.syscall} '${path}'` : undefined;
  if (path !== undefined && call !== undefined && text.endsWith(call)) return `${code} ${show(path)}: ${text.slice(0, -call.length)} (${err.syscall})`;
  return `${code} ${text}`;
}

/** A path too long to read in an error's line (past PATH_MAX, say), kept to `max` characters: its start and end, `…` between. */
export function shortenMiddle(path: string, max = 160): string {
  if (path.length <= max) return path;
  const head = Math.ceil((max - 1) / 2);
  return `${path.slice(0, head)}…${path.slice(path.length - (max - 1 - head))}`;
}
