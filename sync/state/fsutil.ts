/**
 * Durable file writes for the state folder. A rename alone is atomic but not durable: after a
 * power loss the new name may point at an empty file unless the data was fsynced first, and the
 * rename itself may be lost unless the directory was fsynced after. lowdb's own JSONFile (via
 * steno) writes a temp file and renames it without either fsync, so the state module uses this
 * instead.
 */
import { randomBytes } from 'node:crypto';
import { link, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fsyncDir, isErrno } from '../fsutil.js';


/**
 * Replaces `file` with `data` so that a crash at any point leaves either the old or the new
 * content, never a mix or an empty file.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const temp = await writeTemp(file, data);
  try {
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await fsyncDir(dirname(file));
}

/**
 * Creates `file` holding `data` only if nothing is at its name; false when something is. As
 * durable as writeFileAtomic, and as atomic: the file is written aside, then linked into place (a
 * link, unlike a rename, fails on an existing name), so no reader ever sees it partly written.
 */
export async function writeFileExclusive(file: string, data: string | Uint8Array): Promise<boolean> {
  const temp = await writeTemp(file, data);
  try {
    await link(temp, file);
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    throw err;
  } finally {
    await rm(temp, { force: true });
  }
  await fsyncDir(dirname(file));
  return true;
}

/** `data` in a new temp file beside `file`, fsynced; the name is unique, so two writers never share it. */
async function writeTemp(file: string, data: string | Uint8Array): Promise<string> {
  const temp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fh = await open(temp, 'wx', 0o600);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  return temp;
}
