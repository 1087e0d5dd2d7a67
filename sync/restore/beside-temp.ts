/**
 * The temp folder a `restore --path … --beside` lays into (cli/commands/restore.ts): made in the
 * folder restored into, named by BESIDE_TEMP, the id of the process making it, then mkdtemp's 6
 * characters. Another restore into the same folder may run meanwhile (in place, a whole snapshot,
 * another --beside), so whatever removes temp leftovers there must spare one that may still be in
 * use: it is a leftover (its restore killed, or its machine crashed) only once the process named in
 * it is not running here and it is this old. The age spares a restore running on another machine
 * that shares the folder (its process id means nothing here) unless it has run for an hour without
 * adding to the temp folder's top. One made before the name held a process id is a leftover after
 * a day.
 */
import { lstatSync } from 'node:fs';
import { pidAlive } from '../control/client.js';
import { TEMP_PREFIX } from '../fsutil.js';

export const BESIDE_TEMP = `${TEMP_PREFIX}restore-`;

const LEFTOVER_MS = 3600_000;
const LEFTOVER_UNNAMED_MS = 24 * 3600_000;

/** The prefix of a --beside temp folder made by this process (mkdtemp adds the rest). */
export function besideTempPrefix(): string {
  return `${BESIDE_TEMP}${process.pid}-`;
}

/** Whether `name` (an entry at `path`) is a --beside temp folder that may still be in use: never to be removed. */
export function besideTempInUse(path: string, name: string, now = Date.now()): boolean {
  if (!name.startsWith(BESIDE_TEMP)) return false;
  const pid = /^(\d+)-/.exec(name.slice(BESIDE_TEMP.length))?.[1];
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return true;
  }
  if (!st.isDirectory() || now - st.mtimeMs < (pid === undefined ? LEFTOVER_UNNAMED_MS : LEFTOVER_MS)) return true;
  return pid !== undefined && pidAlive(Number(pid));
}
