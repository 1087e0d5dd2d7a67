/**
 * Durable file writes for the state folder. A rename alone is atomic but not durable: after a
 * power loss the new name may point at an empty file unless the data was fsynced first, and the
 * rename itself may be lost unless the directory was fsynced after. lowdb's own JSONFile (via
 * steno) writes a temp file and renames it without either fsync, so the state module uses this
 * instead.
 */
import { randomBytes } from 'node:crypto';
import { link, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fsyncDir, isErrno, onFile } from '../fsutil.js';


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
 * durable as writeFileAtomic. Where the file system has hard links the file is written aside,
 * then linked into place (a link, unlike a rename, fails on an existing name), so no reader ever
 * sees it partly written. Where it refuses them (FAT and exFAT disks, some network shares) the
 * file is created with O_EXCL, just as exclusive, and then written: a reader may find it empty or
 * partial meanwhile, and then finds the whole of `data` in writesInProgress until it is written.
 */
export async function writeFileExclusive(file: string, data: string | Uint8Array): Promise<boolean> {
  const temp = await writeTemp(file, data);
  try {
    await link(temp, file);
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    if (!linksRefused(err)) throw err;
    if (!(await createAndWrite(file, data))) return false;
  } finally {
    // After the write where links are refused: until then the temp file is the write in progress.
    await rm(temp, { force: true });
  }
  await fsyncDir(dirname(file));
  return true;
}

/**
 * How a file system says it has no hard links: EPERM (Linux's FAT, exFAT and FUSE), ENOTSUP or
 * ENOSYS (some network shares), EISDIR (libuv's name for Windows' ERROR_INVALID_FUNCTION).
 */
export function linksRefused(err: unknown): boolean {
  return ['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EISDIR'].some((code) => isErrno(err, code));
}

/** Creates `file` only if nothing is at its name (false when something is), then writes `data` into it and fsyncs it; a write that fails removes it. */
async function createAndWrite(file: string, data: string | Uint8Array): Promise<boolean> {
  let fh;
  try {
    fh = await open(file, 'wx', 0o600);
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    throw err;
  }
  try {
    await onFile(file, async () => {
      await fh.writeFile(data);
      await fh.sync();
    });
    await fh.close();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(file, { force: true });
    throw err;
  }
  return true;
}

/**
 * The content of every write of `file` in progress (or left by a process cut off in one): what
 * writeFileExclusive and writeFileAtomic are putting there, in their temp files beside it.
 */
export async function writesInProgress(file: string): Promise<string[]> {
  const prefix = `.${basename(file)}.`;
  const names = (await readdir(dirname(file))).filter((n) => n.startsWith(prefix) && TEMP_SUFFIX.test(n.slice(prefix.length)));
  const texts = await Promise.all(names.map((n) => readFile(join(dirname(file), n), 'utf8').catch((err: unknown) => {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  })));
  return texts.filter((text) => text !== undefined);
}

/** What follows `.<name>.` in a temp file's name (writeTemp). */
const TEMP_SUFFIX = /^[0-9a-f]{12}\.tmp$/;

/** `data` in a new temp file beside `file`, fsynced; the name is unique, so two writers never share it. */
async function writeTemp(file: string, data: string | Uint8Array): Promise<string> {
  const temp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fh = await open(temp, 'wx', 0o600);
    try {
      // Named as the file it is written for: the temp is gone by the time anyone reads the error.
      await onFile(file, async () => {
        await fh.writeFile(data);
        await fh.sync();
      });
    } finally {
      await fh.close();
    }
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  return temp;
}
