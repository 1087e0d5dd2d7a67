/**
 * The benchmark corpus: what a desktop data layer holds, generated from a seed.
 *
 * - config/  thousands of small settings files (JSON, INI, YAML, …, 100 B–8 KiB) in nested dirs;
 * - docs/    medium documents (100 KiB–1 MiB), about half prose and half random bytes;
 * - data/    SQLite-like page files: one large file for the edit test (512 MiB when the size
 *            allows, else the largest file that fits) and a few 64 MiB ones.
 *
 * The defaults (1 GiB: ~10,000 small files, ~300 documents) scale with `sizeMiB`. The same seed and
 * size always give the same paths, bytes and mtimes; the manifest records each file's SHA-256 so
 * restores can be checked.
 */
import { createHash } from 'node:crypto';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { makeRng, type Rng } from '../testing/random.js';
import { CONFIG_FORMATS, configFile, documentBytes, textPool, vocabulary } from './content.js';
import { PAGE_SIZE, writePageFile } from './pages.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const DEFAULT_MIB = 1024;
const EDIT_FILE_MIB = 512;
const LARGE_FILE_MIB = 64;
const SMALL_MIN = 100;
const SMALL_MAX = 8 * KiB;
const MEDIUM_MIN = 100 * KiB;
const MEDIUM_MAX = 1 * MiB;
/** Expected sizes, used only to budget the large files. */
const SMALL_MEAN = (SMALL_MAX - SMALL_MIN) / Math.log(SMALL_MAX / SMALL_MIN);
const MEDIUM_MEAN = (MEDIUM_MIN + MEDIUM_MAX) / 2;
/** Files get fixed mtimes (from 2024-01-01, a minute apart) so the corpus is the same every run. */
const MTIME_BASE = Date.UTC(2024, 0, 1) / 1000;

export type FileKind = 'small' | 'medium' | 'large';

export interface CorpusFile {
  path: string;
  kind: FileKind;
  size: number;
  sha256: string;
}

export interface CorpusPlan {
  seed: number;
  sizeMiB: number;
  smallCount: number;
  mediumCount: number;
  /** Size of the edit-test file in bytes. */
  editFileSize: number;
  /** Sizes of the other large files in bytes. */
  largeSizes: number[];
  /** Set when the edit-test file is not the 512 MiB one the default corpus has. */
  note: string | undefined;
}

export interface Corpus {
  root: string;
  plan: CorpusPlan;
  files: CorpusFile[];
  /** Path (relative to root) of the file the edit test changes. */
  editFile: string;
  bytes: number;
}

const pageAligned = (bytes: number): number => Math.max(PAGE_SIZE, Math.floor(bytes / PAGE_SIZE) * PAGE_SIZE);

/** How many files of each kind and which large files a corpus of `sizeMiB` holds. */
export function planCorpus(sizeMiB: number, seed: number): CorpusPlan {
  const scale = sizeMiB / DEFAULT_MIB;
  const smallCount = Math.max(20, Math.round(10_000 * scale));
  const mediumCount = Math.max(3, Math.round(300 * scale));
  const budget = sizeMiB * MiB - smallCount * SMALL_MEAN - mediumCount * MEDIUM_MEAN;
  if (budget >= (EDIT_FILE_MIB + LARGE_FILE_MIB) * MiB) {
    const others = Math.floor((budget - EDIT_FILE_MIB * MiB) / (LARGE_FILE_MIB * MiB));
    return { seed, sizeMiB, smallCount, mediumCount, editFileSize: EDIT_FILE_MIB * MiB, largeSizes: Array(others).fill(LARGE_FILE_MIB * MiB), note: undefined };
  }
  const editFileSize = Math.max(2 * MiB, pageAligned(budget / 2));
  const rest = Math.max(0, budget - editFileSize);
  const count = rest < MiB ? 0 : Math.min(4, Math.max(2, Math.ceil(rest / (LARGE_FILE_MIB * MiB))));
  const largeSizes = Array<number>(count).fill(pageAligned(rest / Math.max(count, 1)));
  const note = `--size ${sizeMiB} is too small for the 512 MiB edit-test file: the edit test uses the largest file, ${(editFileSize / MiB).toFixed(1)} MiB`;
  return { seed, sizeMiB, smallCount, mediumCount, editFileSize, largeSizes, note };
}

/** Sizes between min and max, skewed towards small as real settings files are. */
function logUniform(rng: Rng, min: number, max: number): number {
  return Math.round(min * Math.pow(max / min, rng.next()));
}

function smallPaths(rng: Rng, words: readonly string[], count: number): string[] {
  const apps = Array.from({ length: Math.max(1, Math.ceil(count / 50)) }, (_, i) => `${rng.pick(words)}-${i}`);
  const seen = new Set<string>();
  const paths: string[] = [];
  for (let i = 0; paths.length < count; i++) {
    const depth = rng.int(3);
    const dirs = ['config', rng.pick(apps), ...Array.from({ length: depth }, () => rng.pick(words.slice(0, 24)))];
    const path = `${dirs.join('/')}/${rng.pick(words)}-${i}.${rng.pick(CONFIG_FORMATS)}`;
    if (seen.has(path)) continue;
    seen.add(path);
    paths.push(path);
  }
  return paths;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

async function put(root: string, path: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), bytes);
}

async function writeSmall(root: string, plan: CorpusPlan, rng: Rng, words: readonly string[]): Promise<CorpusFile[]> {
  const files: CorpusFile[] = [];
  for (const path of smallPaths(rng, words, plan.smallCount)) {
    const format = path.slice(path.lastIndexOf('.') + 1) as (typeof CONFIG_FORMATS)[number];
    const bytes = configFile(rng, words, format, logUniform(rng, SMALL_MIN, SMALL_MAX), SMALL_MAX);
    await put(root, path, bytes);
    files.push({ path, kind: 'small', size: bytes.length, sha256: sha256(bytes) });
  }
  return files;
}

async function writeMedium(root: string, plan: CorpusPlan, rng: Rng, words: readonly string[]): Promise<CorpusFile[]> {
  const pool = textPool(rng, words, 4 * MiB);
  const exts = ['pdf', 'docx', 'odt', 'md', 'pptx', 'xlsx'];
  const files: CorpusFile[] = [];
  for (let i = 0; i < plan.mediumCount; i++) {
    const path = `docs/${rng.pick(words.slice(0, 12))}/${rng.pick(words)}-${i}.${rng.pick(exts)}`;
    const bytes = documentBytes(plan.seed, path, rng.range(MEDIUM_MIN, MEDIUM_MAX), pool);
    await put(root, path, bytes);
    files.push({ path, kind: 'medium', size: bytes.length, sha256: sha256(bytes) });
  }
  return files;
}

async function writeLarge(root: string, plan: CorpusPlan, words: readonly string[]): Promise<CorpusFile[]> {
  await mkdir(join(root, 'data'), { recursive: true });
  const specs = [{ path: 'data/profile.sqlite', size: plan.editFileSize }, ...plan.largeSizes.map((size, i) => ({ path: `data/cache-${i}.db`, size }))];
  const files: CorpusFile[] = [];
  for (const { path, size } of specs) {
    const digest = await writePageFile(join(root, path), size, plan.seed, path, words);
    files.push({ path, kind: 'large', size, sha256: digest });
  }
  return files;
}

/** Writes the corpus under `root` (which should be empty) and returns its manifest. */
export async function writeCorpus(root: string, plan: CorpusPlan): Promise<Corpus> {
  const rng = makeRng(plan.seed);
  const words = vocabulary(rng);
  const files = [
    ...(await writeSmall(root, plan, rng, words)),
    ...(await writeMedium(root, plan, rng, words)),
    ...(await writeLarge(root, plan, words)),
  ];
  for (const [i, file] of files.entries()) await utimes(join(root, file.path), MTIME_BASE + i * 60, MTIME_BASE + i * 60);
  const bytes = files.reduce((sum, f) => sum + f.size, 0);
  return { root, plan, files, editFile: 'data/profile.sqlite', bytes };
}
