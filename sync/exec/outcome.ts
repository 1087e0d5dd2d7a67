/**
 * An op's outcome: applied, or `changed` when the disk moved under it or refused the path. Every
 * other failure is an error of the run (E_EXEC_IO), thrown.
 */
import { StrataError, whatFailed } from '../errors.js';
import type { ApplyOp } from '../plan/index.js';
import { isErrno } from '../fsutil.js';
import { TargetChanged, type ExecContext } from './context.js';

export type OpResult =
  /**
   * Applied. `ctimeMs`: the ctime of what the op left at `op.path`, when the run kept it (with
   * suppress or scannedCtime): a same-size edit since, with its mtime set back, has another.
   */
  | { index: number; op: ApplyOp; status: 'applied'; ctimeMs?: number }
  /**
   * Not applied: `path` (the target, its source, or an ancestor) holds `found` instead. With
   * `blocked`, the op's paths are as they were but cannot be written now (a lock, permissions).
   */
  | { index: number; op: ApplyOp; status: 'changed'; path: string; found: string; blocked?: true };

/** Reports an op's result; true when the run must stop there. */
export type Report = (result: OpResult) => boolean;

/** Errors during an op that mean the disk moved under it, not that the disk is failing. */
const RACE_CODES = ['ENOENT', 'EEXIST', 'ENOTEMPTY', 'ENOTDIR', 'EISDIR', 'ELOOP'];
/**
 * Errors that mean one path cannot be written now — a file open in another program (Windows
 * sharing violations), read-only or immutable, a dir without write permission — not that the disk
 * is failing: the caller leaves that path alone for a while instead of failing every run on it.
 */
const BLOCKED_CODES = ['EACCES', 'EPERM', 'EBUSY', 'ETXTBSY'];
/**
 * Why a path cannot be laid whose full name is longer than the OS lets a program name
 * (ENAMETOOLONG: past PATH_MAX, 4,096 bytes on Linux): another machine, whose root is higher up,
 * synced it. It is left alone like a path that refuses the write, and never taken for deleted.
 */
export const TOO_LONG_HERE = 'its path is longer than this system allows (ENAMETOOLONG): it is not laid here (nor deleted from the layer); shorten the names above it or sync the folder from higher up';

/** An op's failure as a `changed` result when the disk moved or refused the path; any other is thrown. */
export function changedOrThrow(op: ApplyOp, index: number, err: unknown): OpResult {
  if (err instanceof TargetChanged) return { index, op, status: 'changed', path: err.path, found: err.found };
  if (isErrno(err, ...RACE_CODES)) return { index, op, status: 'changed', path: op.path, found: (err as NodeJS.ErrnoException).code ?? 'error' };
  if (isErrno(err, 'ENAMETOOLONG')) return { index, op, status: 'changed', path: op.path, found: TOO_LONG_HERE, blocked: true };
  if (isErrno(err, ...BLOCKED_CODES)) return { index, op, status: 'changed', path: op.path, found: `cannot be written (${(err as NodeJS.ErrnoException).code})`, blocked: true };
  if (err instanceof StrataError) throw err;
  throw execFailed(op, err);
}

/**
 * E_EXEC_IO naming `op`'s path: a failed call in the OS's words, the call said once ("no space
 * left on device (write)"), any other failure as what failed.
 */
export function execFailed(op: ApplyOp, err: unknown): StrataError {
  const syscall = typeof (err as NodeJS.ErrnoException | null)?.code === 'string';
  return new StrataError('E_EXEC_IO', syscall ? whatFailed(err) : `${op.op} failed: ${whatFailed(err)}`, { path: op.path }, { cause: err });
}

/** Runs an op's (last) step; a changed disk comes back as a result, every other failure is thrown. */
export async function attempt(ctx: ExecContext, op: ApplyOp, index: number, step: () => Promise<void>): Promise<OpResult> {
  try {
    await step();
  } catch (err) {
    return changedOrThrow(op, index, err);
  }
  const left = ctx.suppress(op.path, op.op === 'delete');
  if (op.op === 'move') ctx.suppress(op.from, true);
  return { index, op, status: 'applied', ...(left !== undefined && { ctimeMs: left }) };
}
