/**
 * Tests that a read of a path where a FIFO was swapped in does not wait for a writer. A read that
 * does hang holds a thread-pool thread (and the test process) until a writer comes: the test is
 * failed after a grace period, and the FIFO is then opened for writing and closed, so that the
 * stuck read ends and the process can exit.
 */
import { execFileSync } from 'node:child_process';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** Makes a FIFO at `path` (mkfifo). */
export function makeFifo(path: string): void {
  execFileSync('mkfifo', [path]);
}

/** Far longer than a refused open takes, even on a loaded machine; only a hang lasts this long. */
const GRACE_MS = 10_000;

/**
 * What `work` settles to, or a rejection saying it waited on the FIFO at `fifo` (each FIFO of
 * `fifo` is then given a writer that comes and goes, until `work` settles).
 */
export async function notWaitingOn<T>(fifo: string | readonly string[], work: Promise<T>): Promise<T> {
  const settled = work.then(
    () => true,
    () => true,
  );
  if (await Promise.race([settled, sleep(GRACE_MS, false, { ref: false })])) return work;
  const fifos = typeof fifo === 'string' ? [fifo] : fifo;
  while (!(await Promise.race([settled, sleep(100, false, { ref: false })]))) {
    for (const f of fifos) await (await open(f, constants.O_WRONLY | constants.O_NONBLOCK).catch(() => undefined))?.close();
  }
  throw new Error(`waited on the FIFO at ${fifos.join(', ')} for a writer`);
}
