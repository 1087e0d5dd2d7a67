/**
 * Durable file writes for the state folder. A rename alone is atomic but not durable: after a
 * power loss the new name may point at an empty file unless the data was fsynced first, and the
 * rename itself may be lost unless the directory was fsynced after. lowdb's own JSONFile (via
 * steno) writes a temp file and renames it without either fsync, so the state module uses this
 * instead.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fsyncDir } from '../fsutil.js';


/**
 * Replaces `file` with `data` so that a crash at any point leaves either the old or the new
 * content, never a mix or an empty file. The temp name is unique, so two writers never share it.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const temp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fh = await open(temp, 'wx', 0o600);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await fsyncDir(dirname(file));
}
