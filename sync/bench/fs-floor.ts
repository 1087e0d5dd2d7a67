/**
 * The file-system floor of "ready": the ready set's files written from memory into an empty
 * folder with plain synchronous calls — mkdir, then open, write, close per file; no network, no
 * hashing, no fsync, no temp name, mode or mtime. It is what creating those files costs on this
 * machine, whoever restores them; Strata's time to ready adds the process start, the layer's
 * metadata, the downloads and its own per-file steps (temp name and rename, mode, mtime) to it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface FloorRecord {
  seconds?: number;
  files: number;
  bytes: number;
  error?: string;
}

/** Reads `files` (paths relative to `root`) into memory, then times writing them under `target`. */
export async function fileSystemFloor(root: string, files: readonly { path: string; size: number }[], target: string): Promise<FloorRecord> {
  const data: Buffer[] = [];
  for (const f of files) data.push(await readFile(join(root, f.path)));
  const made = new Set<string>();
  const start = performance.now();
  for (const [i, f] of files.entries()) {
    const path = join(target, f.path);
    const dir = dirname(path);
    if (!made.has(dir)) {
      mkdirSync(dir, { recursive: true });
      made.add(dir);
    }
    writeFileSync(path, data[i] as Buffer);
  }
  const seconds = (performance.now() - start) / 1000;
  return { seconds, files: files.length, bytes: data.reduce((s, d) => s + d.byteLength, 0) };
}
