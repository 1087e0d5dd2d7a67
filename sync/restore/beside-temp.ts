/**
 * The temp folder a `restore --path … --beside` lays into (cli/commands/restore.ts): made in the
 * folder restored into, named by BESIDE_TEMP, the id of the process making it, then mkdtemp's 6
 * characters. Another restore into the same folder may run meanwhile (in place, a whole snapshot,
 * another --beside), so whatever removes temp leftovers there must spare one that may still be in
 * use: tempInUse (temps.ts) says when a temp folder is a leftover.
 */
import { TEMP_PREFIX } from '../fsutil.js';

export const BESIDE_TEMP = `${TEMP_PREFIX}restore-`;

/** The prefix of a --beside temp folder made by this process (mkdtemp adds the rest). */
export function besideTempPrefix(): string {
  return `${BESIDE_TEMP}${process.pid}-`;
}
