/**
 * File-system steps around the timed phases: the "80% present" copy, the 1 MiB edit, and the
 * check that a restore produced exactly the corpus (a fast wrong restore is not a result).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, open, readdir, rm, stat, utimes } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { makeRng } from '../testing/random.js';
import { ByteSource } from './content.js';
import type { Corpus, CorpusFile, FileKind } from './corpus.js';

const MiB = 1024 * 1024;
export const EDIT_BYTES = 1 * MiB;
export const PRESENT_FRACTION = 0.8;

/**
 * Which files the "80% present" restores find on disk: 80% of each kind, chosen by the seed.
 * The edit-test file is always present, so the missing bytes stay close to the missing files'
 * share instead of depending on where one 512 MiB file fell.
 */
export function presentSubset(corpus: Corpus, seed: number): { present: CorpusFile[]; absent: CorpusFile[] } {
  const rng = makeRng(seed ^ 0x5eed);
  const present: CorpusFile[] = [];
  const absent: CorpusFile[] = [];
  for (const kind of ['small', 'medium', 'large'] as FileKind[]) {
    const pinned = corpus.files.filter((f) => f.kind === kind && f.path === corpus.editFile);
    const others = rng.shuffle(corpus.files.filter((f) => f.kind === kind && f.path !== corpus.editFile));
    const missing = Math.round((1 - PRESENT_FRACTION) * (others.length + pinned.length));
    absent.push(...others.slice(0, missing));
    present.push(...pinned, ...others.slice(missing));
  }
  return { present, absent };
}

/** Copies `files` from one root to another, keeping mtimes (rclone compares size and mtime). */
export async function copyFiles(from: string, to: string, files: readonly CorpusFile[]): Promise<void> {
  const queue = [...files];
  const worker = async (): Promise<void> => {
    for (let f = queue.pop(); f; f = queue.pop()) {
      const src = join(from, f.path);
      const dst = join(to, f.path);
      await mkdir(dirname(dst), { recursive: true });
      await copyFile(src, dst);
      const { atime, mtime } = await stat(src);
      await utimes(dst, atime, mtime);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

async function fileHash(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MiB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(root, join(e.parentPath, e.name)).split('\\').join('/'));
}

/** Problems found comparing `root` with the corpus manifest; empty when it matches exactly. */
export async function verifyTree(root: string, corpus: Corpus, limit = 5): Promise<string[]> {
  const problems: string[] = [];
  const expected = new Map(corpus.files.map((f) => [f.path, f]));
  const found = await listFiles(root);
  const extra = found.filter((p) => !expected.has(p));
  if (extra.length > 0) problems.push(`${extra.length} unexpected files, e.g. ${extra[0]}`);
  const seen = new Set(found);
  const missing = corpus.files.filter((f) => !seen.has(f.path));
  if (missing.length > 0) problems.push(`${missing.length} files missing, e.g. ${missing[0]?.path}`);
  for (const f of corpus.files) {
    if (problems.length >= limit) break;
    if (!seen.has(f.path)) continue;
    const path = join(root, f.path);
    const { size } = await stat(path);
    if (size !== f.size) problems.push(`${f.path}: size ${size}, expected ${f.size}`);
    else if ((await fileHash(path)) !== f.sha256) problems.push(`${f.path}: content differs`);
  }
  return problems;
}

/**
 * Overwrites 1 MiB in the middle of the edit-test file with new bytes (size unchanged, mtime
 * now) and updates the manifest. Returns the offset of the edit.
 */
export async function editMiddle(corpus: Corpus): Promise<number> {
  const file = corpus.files.find((f) => f.path === corpus.editFile);
  if (!file) throw new Error(`edit-test file ${corpus.editFile} is not in the corpus`);
  const offset = Math.floor((file.size - EDIT_BYTES) / 2 / 4096) * 4096;
  const path = join(corpus.root, file.path);
  const handle = await open(path, 'r+');
  try {
    await handle.write(new ByteSource(corpus.plan.seed, 'edit').take(EDIT_BYTES), 0, EDIT_BYTES, offset);
  } finally {
    await handle.close();
  }
  file.sha256 = await fileHash(path);
  return offset;
}

/**
 * The folders a bench section restores into, removed together when the section ends, never one
 * by one between runs. ext4 does not reuse an inode freed in the last 60–300 s (recently_deleted()
 * in its inode allocator) and scans past each one, so files created right after another run's
 * 20,000 were removed cost several times more: tar of the sign-in ready set took 1.0 s into a fresh
 * folder on the bench machine and 7.0 s beside a just-removed copy. Removing each target at once
 * handed that penalty to whichever peer ran next; every peer must restore under the same conditions.
 */
export class RestoreDirs {
  private readonly dirs: string[] = [];

  constructor(
    private readonly work: string,
    private readonly keep: boolean,
  ) {}

  async make(label: string): Promise<string> {
    const dir = await mkdtemp(join(this.work, `${label}-`));
    this.dirs.push(dir);
    return dir;
  }

  async removeAll(): Promise<void> {
    if (!this.keep) for (const dir of this.dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  }
}
