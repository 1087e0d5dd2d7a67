import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** The pid of a process that has ended (a record naming it names a process gone). */
export async function deadPid(): Promise<number> {
  return Number((await promisify(execFile)(process.execPath, ['-p', 'process.pid'])).stdout);
}
