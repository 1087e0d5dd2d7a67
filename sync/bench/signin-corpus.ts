/**
 * The sign-in benchmark's user layer: a home folder as a desktop user has one, generated from a
 * seed — most files small, some MiB-sized, a few large — so that "ready" (hot paths and small
 * files) and "the rest" are both real work.
 *
 *   .config/<app>/…        settings files, 100 B–16 KiB (hot path)             40% of small files
 *   Documents/<topic>/…    notes 100 B–16 KiB; documents 16 KiB–1 MiB           the other small files; 4% of all files
 *   Desktop/               ~10% of notes and documents, ~5% of photos (hot path)
 *   Pictures/<year>/       photos, 1–8 MiB of incompressible bytes             0.75% of all files
 *   .local/share/<app>/    4 SQLite-like databases splitting the rest 8:4:2:1  (the largest is `editFile`)
 *
 * Sizes are log-uniform within each range. At the default 1 GiB / 20,000 files that is ~19,000
 * small files (~6% of the bytes), 800 documents (~18%), 150 photos (~49%) and 4 databases (~27%).
 * At smaller sizes the small files and documents are scaled down to at most half of the total and
 * the photos to leave a quarter for the databases. The plan is pure; the same (size, files, seed)
 * always gives the same paths, sizes, bytes and mtimes, and the total is exactly `sizeMiB` MiB.
 */
import { createHash } from 'node:crypto';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { StrataError } from '../errors.js';
import { makeRng, type Rng } from '../testing/random.js';
import { ByteSource, CONFIG_FORMATS, configFile, documentBytes, textPool, vocabulary, type ConfigFormat } from './content.js';
import type { Corpus, CorpusFile, FileKind } from './corpus.js';
import { writePageFile } from './pages.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/** The org config's hot paths for this layer (gitignore syntax, relative to home). */
export const SIGNIN_HOT_PATHS = ['.config/', 'Desktop/'];
const DATABASES = ['.local/share/mail/store.sqlite', '.local/share/chat/history.db', '.local/share/calendar/events.db', '.local/share/notes/notes.db'];
const DB_WEIGHTS = [8, 4, 2, 1];
const MTIME_BASE = Date.UTC(2024, 0, 1) / 1000;

export type Role = 'config' | 'note' | 'document' | 'photo' | 'database';

export interface PlannedFile {
  path: string;
  role: Role;
  size: number;
}

export interface SignInCorpusPlan {
  seed: number;
  sizeMiB: number;
  files: PlannedFile[];
  /** The largest database: the 80% copy always holds it (files.ts presentSubset). */
  editFile: string;
}

const KIND: Record<Role, FileKind> = { config: 'small', note: 'small', document: 'medium', photo: 'medium', database: 'large' };

function logUniform(rng: Rng, min: number, max: number): number {
  return Math.round(min * Math.pow(max / min, rng.next()));
}

function scale(files: PlannedFile[], factor: number): void {
  if (factor < 1) for (const f of files) f.size = Math.max(1, Math.floor(f.size * factor));
}

const sum = (files: readonly PlannedFile[]): number => files.reduce((s, f) => s + f.size, 0);

/** Paths and sizes of a layer of `fileCount` files and exactly `sizeMiB` MiB. */
export function planSignInCorpus(sizeMiB: number, fileCount: number, seed: number): SignInCorpusPlan {
  if (!Number.isInteger(fileCount) || fileCount < 100) throw new StrataError('E_USAGE', `the sign-in corpus needs at least 100 files, not ${fileCount}`);
  if (!Number.isInteger(sizeMiB) || sizeMiB < 16) throw new StrataError('E_USAGE', `the sign-in corpus needs at least 16 MiB, not ${sizeMiB}`);
  const rng = makeRng(seed);
  const words = vocabulary(rng);
  const topics = words.slice(0, 16);
  const subs = words.slice(16, 40);
  const photoCount = Math.max(1, Math.round(fileCount * 0.0075));
  const documentCount = Math.max(1, Math.round(fileCount * 0.04));
  const smallCount = fileCount - DATABASES.length - photoCount - documentCount;
  const configCount = Math.round(smallCount * 0.4);
  const apps = Array.from({ length: Math.ceil(configCount / 60) }, (_, i) => `${rng.pick(words)}-${i}`);
  const nested = (): string => Array.from({ length: rng.int(3) }, () => rng.pick(subs)).map((d) => `${d}/`).join('');

  const small: PlannedFile[] = [];
  for (let i = 0; i < smallCount; i++) {
    const size = logUniform(rng, 100, 16 * KiB);
    if (i < configCount) {
      small.push({ path: `.config/${rng.pick(apps)}/${nested()}${rng.pick(words)}-${i}.${rng.pick(CONFIG_FORMATS)}`, role: 'config', size });
    } else {
      const name = `${rng.pick(words)}-${i}.${rng.pick(['md', 'txt', 'csv', 'rtf'])}`;
      small.push({ path: rng.chance(0.1) ? `Desktop/${name}` : `Documents/${rng.pick(topics)}/${nested()}${name}`, role: 'note', size });
    }
  }
  const documents: PlannedFile[] = [];
  for (let i = 0; i < documentCount; i++) {
    const name = `${rng.pick(words)}-d${i}.${rng.pick(['pdf', 'docx', 'odt', 'xlsx', 'pptx'])}`;
    documents.push({ path: rng.chance(0.1) ? `Desktop/${name}` : `Documents/${rng.pick(topics)}/${name}`, role: 'document', size: logUniform(rng, 16 * KiB, MiB) });
  }
  const photos: PlannedFile[] = [];
  for (let i = 0; i < photoCount; i++) {
    const name = `IMG_${1000 + i}.jpg`;
    photos.push({ path: rng.chance(0.05) ? `Desktop/${name}` : `Pictures/${2015 + rng.int(10)}/${name}`, role: 'photo', size: logUniform(rng, MiB, 8 * MiB) });
  }

  const total = sizeMiB * MiB;
  scale([...small, ...documents], (total * 0.5) / sum([...small, ...documents]));
  scale(photos, (total * 0.75 - sum(small) - sum(documents)) / sum(photos));
  const rest = total - sum(small) - sum(documents) - sum(photos);
  const weight = DB_WEIGHTS.reduce((s, w) => s + w, 0);
  const databases = DATABASES.map((path, i): PlannedFile => ({ path, role: 'database', size: Math.floor((rest * (DB_WEIGHTS[i] as number)) / weight) }));
  (databases[0] as PlannedFile).size += rest - sum(databases);
  return { seed, sizeMiB, files: [...small, ...documents, ...photos, ...databases], editFile: DATABASES[0] as string };
}

/** Pads a settings file with newlines to exactly `size` bytes (configFile stops at or below it). */
function exactly(bytes: Buffer, size: number): Buffer {
  return bytes.length >= size ? bytes.subarray(0, size) : Buffer.concat([bytes, Buffer.alloc(size - bytes.length, 0x0a)]);
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Writes the plan under `root` (empty or missing) and returns its manifest, in the bench's Corpus shape. */
export async function writeSignInCorpus(root: string, plan: SignInCorpusPlan): Promise<Corpus> {
  const rng = makeRng(plan.seed ^ 0x51ab);
  const words = vocabulary(rng);
  const pool = textPool(rng, words, 4 * MiB);
  const files: CorpusFile[] = [];
  for (const [i, f] of plan.files.entries()) {
    const path = join(root, f.path);
    await mkdir(dirname(path), { recursive: true });
    let digest: string;
    if (f.role === 'database') {
      digest = await writePageFile(path, f.size, plan.seed, f.path, words);
    } else {
      const format = f.path.slice(f.path.lastIndexOf('.') + 1) as ConfigFormat;
      const bytes =
        f.role === 'config' ? exactly(configFile(rng, words, format, f.size, f.size), f.size)
        : f.role === 'photo' ? new ByteSource(plan.seed, `photo:${f.path}`).take(f.size)
        : documentBytes(plan.seed, f.path, f.size, pool);
      await writeFile(path, bytes);
      digest = sha256(bytes);
    }
    await utimes(path, MTIME_BASE + i * 60, MTIME_BASE + i * 60);
    files.push({ path: f.path, kind: KIND[f.role], size: f.size, sha256: digest });
  }
  const count = (role: Role): number => plan.files.filter((f) => f.role === role).length;
  const sizes = plan.files.filter((f) => f.role === 'database').map((f) => f.size);
  return {
    root,
    plan: {
      seed: plan.seed,
      sizeMiB: plan.sizeMiB,
      smallCount: count('config') + count('note'),
      mediumCount: count('document') + count('photo'),
      editFileSize: sizes[0] as number,
      largeSizes: sizes.slice(1),
      note: 'sign-in layer: settings and notes, documents, photos, databases (signin-corpus.ts)',
    },
    files,
    editFile: plan.editFile,
    bytes: sum(plan.files),
  };
}
