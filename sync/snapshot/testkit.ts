/**
 * Test helpers for the snapshot tests (not used by production code): temporary folders, and a
 * flat description of a folder on disk and of a snapshot tree, so the two can be compared whole.
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Repository } from '../repo/index.js';
import type { BlobId } from '../repo/types.js';

/** path → one line describing the entry: kind, mode, size, content hash or target. */
export type Listing = Record<string, string>;

export async function withTmp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-snap-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A snapshot clock an hour ahead of the system's: every file written so far was changed (its
 * ctime) well before a snapshot taken at this time starts, as files are between a user's
 * snapshots, so the snapshot's stat cache may vouch for them (file.ts). A snapshot at T0, which
 * lies before any file's real ctime, never takes a file from its parent.
 */
export function aheadOfDisk(): Date {
  return new Date(Date.now() + 3_600_000);
}

/**
 * Writes `files` (relative path → content) under `root`, creating directories. With `mtime`, the
 * files bear it: a snapshot clock set in the past (T0) only trusts its stat cache for files
 * dated well before the parent snapshot (RACY_MS).
 */
export async function writeFiles(root: string, files: Record<string, string | Uint8Array>, mtime?: Date): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await writeFile(join(root, rel), content);
    if (mtime) await utimes(join(root, rel), mtime, mtime);
  }
}

function sha(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

/** What is on disk under `root` (lstat only), in the listing form. */
export async function listDisk(root: string, rel = '', out: Listing = {}): Promise<Listing> {
  for (const name of await readdir(join(root, rel))) {
    const path = rel === '' ? name : `${rel}/${name}`;
    const full = join(root, path);
    const st = await lstat(full);
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isSymbolicLink()) out[path] = `symlink -> ${await readlink(full)}`;
    else if (st.isDirectory()) {
      out[path] = `dir ${mode}`;
      await listDisk(root, path, out);
    } else if (st.isFile()) out[path] = `file ${mode} ${st.size} ${sha(await readFile(full))}`;
  }
  return out;
}

/** The bytes of a file entry, reassembled from its chunks (each verified by readBlob). */
export async function fileBytes(repo: Repository, chunks: BlobId[]): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for (const id of chunks) parts.push(await repo.readBlob(id));
  return Buffer.concat(parts);
}

/** The snapshot tree `root`, in the listing form (reads every chunk). */
export async function listTree(repo: Repository, root: BlobId, rel = '', out: Listing = {}): Promise<Listing> {
  for (const e of (await repo.loadTree(root)).entries) {
    const path = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.type === 'symlink') out[path] = `symlink -> ${e.target}`;
    else if (e.type === 'dir') {
      out[path] = `dir ${e.mode.toString(8)}`;
      await listTree(repo, e.subtree, path, out);
    } else if (e.type === 'file') {
      const bytes = await fileBytes(repo, e.chunks);
      if (bytes.byteLength !== e.size) throw new Error(`${path}: chunks hold ${bytes.byteLength} bytes, entry says ${e.size}`);
      out[path] = `file ${e.mode.toString(8)} ${e.size} ${sha(bytes)}`;
    }
  }
  return out;
}
