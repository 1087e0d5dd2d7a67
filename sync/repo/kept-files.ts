/**
 * Files this machine keeps of objects named by the hash of their bytes — the trees a folder reads
 * (agent/tree-files.ts), the index objects a reader loads (index-files.ts) — so that they need not
 * be fetched again: the reading and writing both share.
 *
 * Must hold:
 * - the disk is trusted no more than the bucket: a file's bytes are used only once they hash to its
 *   name (then they are the object the bucket holds under that id, which the caller still
 *   validates as one fetched);
 * - a file appears under its name whole: written aside under a temp name (sync/temps.ts), then
 *   renamed in. It is not fsynced: what a power loss leaves under the name is caught by the hash,
 *   and costs one GET. The temps a killed writer left are removed by removeLeftoverTemps.
 */
import { readFile as readFileCallback } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { blobId, type HashAlgorithm } from '../chunker/hash.js';
import { tempInUse, tempName, TEMP_PREFIX } from '../temps.js';
import type { BlobId } from './types.js';

/**
 * fs.readFile's callback form: the promise form costs about twice the CPU a file (Node 20), which
 * thousands of small trees make a good part of a sign-in's time before ready.
 */
const readFile = promisify(readFileCallback);

/** The bytes of the file at `path` if it can be read and they hash to `id`. */
export async function readVerified(path: string, id: BlobId, hash: HashAlgorithm): Promise<Uint8Array | undefined> {
  const bytes = await readFile(path).catch(() => undefined);
  return bytes !== undefined && blobId(bytes, hash) === id ? bytes : undefined;
}

/**
 * Writes `bytes` to `<dir>/<name>` through a temp of `kind` renamed into place; false when that
 * failed (the temp then removed). `dir` must exist.
 */
export async function writeWhole(dir: string, name: string, bytes: Uint8Array, kind: string): Promise<boolean> {
  const temp = join(dir, tempName(kind));
  try {
    await writeFile(temp, bytes, { flag: 'wx', mode: 0o600 });
    await rename(temp, join(dir, name));
    return true;
  } catch {
    await rm(temp, { force: true }).catch(() => undefined);
    return false;
  }
}

/** Removes the temps among `names` (a listing of `dir`) whose writer is gone. */
export async function removeLeftoverTemps(dir: string, names: readonly string[]): Promise<void> {
  for (const n of names) if (n.startsWith(TEMP_PREFIX) && !tempInUse(join(dir, n), n)) await rm(join(dir, n), { force: true }).catch(() => undefined);
}
