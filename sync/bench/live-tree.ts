/**
 * The live-sync bench's big folder: `n` small settings files, 100 per directory, the directories
 * in groups of up to 100 (100,000 files: 10 groups × 100 dirs × 100 files), as a profile's
 * config and documents tree looks. Sizes are skewed towards small (200 B – 8 KiB), the bytes
 * config-like text (content.ts). The same (n, seed) always gives the same tree.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeRng } from '../testing/random.js';
import { CONFIG_FORMATS, configFile, vocabulary } from './content.js';

export const FILES_PER_DIR = 100;
const DIRS_PER_GROUP = 100;
const MIN_SIZE = 200;
const MAX_SIZE = 8192;

export interface LiveTreePlan {
  /** Leaf directories, each holding files; relative, '/'-separated. */
  dirs: string[];
  files: Array<{ path: string; size: number }>;
}

export function planLiveTree(files: number, seed: number): LiveTreePlan {
  const rng = makeRng(seed ^ 0x11fe);
  const leaves = Math.ceil(files / FILES_PER_DIR);
  const dirs = Array.from({ length: leaves }, (_, i) => `group-${Math.floor(i / DIRS_PER_GROUP)}/app-${i % DIRS_PER_GROUP}`);
  const out: LiveTreePlan['files'] = [];
  for (let i = 0; i < files; i++) {
    const size = Math.round(MIN_SIZE * Math.pow(MAX_SIZE / MIN_SIZE, rng.next()));
    out.push({ path: `${dirs[Math.floor(i / FILES_PER_DIR)]}/setting-${i % FILES_PER_DIR}.${CONFIG_FORMATS[i % CONFIG_FORMATS.length]}`, size });
  }
  return { dirs, files: out };
}

/** Every directory of the tree, the root included. */
export function dirCount(plan: LiveTreePlan): number {
  return plan.dirs.length + new Set(plan.dirs.map((d) => d.split('/')[0])).size + 1;
}

/** Inotify watches an agent on the tree holds: one per directory on Linux (sync/watch/dirwatch.ts). */
export function watchesNeeded(plan: LiveTreePlan): number {
  return dirCount(plan);
}

/** Writes the tree under `root`; returns its total bytes. */
export async function writeLiveTree(root: string, plan: LiveTreePlan, seed: number): Promise<number> {
  const rng = makeRng(seed ^ 0x7ee);
  const words = vocabulary(rng);
  for (const dir of plan.dirs) await mkdir(join(root, dir), { recursive: true });
  let bytes = 0;
  let next = 0;
  // Content is drawn in file order from one Rng, so it must be made before the writes interleave.
  const worker = async (): Promise<void> => {
    while (next < plan.files.length) {
      const i = next++;
      const f = plan.files[i] as LiveTreePlan['files'][number];
      const format = CONFIG_FORMATS[i % CONFIG_FORMATS.length] as (typeof CONFIG_FORMATS)[number];
      const body = configFile(rng, words, format, f.size, f.size);
      bytes += body.length;
      await writeFile(join(root, f.path), body);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return bytes;
}
