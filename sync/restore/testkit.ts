/**
 * Test helpers for the restore tests (not used by production code): layers built straight from
 * a spec with the repository API (chunked exactly as the snapshot side would), and a listing of
 * a folder that tests compare byte for byte.
 */
import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readFile, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cutPoints } from '../chunker/fastcdc.js';
import { initRepository, openRepository } from '../repo/format.js';
import type { Repository } from '../repo/repository.js';
import type { BlobId, ChunkerParams, Tree, TreeEntry } from '../repo/types.js';
import { MemoryStore } from '../store/memory.js';
import type { ObjectStore } from '../store/index.js';

/** Small chunks so that multi-chunk files stay small in tests. */
export const TEST_CHUNKER: ChunkerParams = { algorithm: 'fastcdc', minSize: 1024, avgSize: 4096, maxSize: 16384 };
export const MTIME = 1_700_000_000_123;

export type Node =
  | { type: 'file'; data: Uint8Array; mode?: number; mtimeMs?: number }
  | { type: 'dir'; children: Spec; mode?: number; mtimeMs?: number }
  | { type: 'symlink'; target: string; mtimeMs?: number };
export type Spec = Record<string, Node>;

export const file = (data: Uint8Array | string, mode = 0o644, mtimeMs = MTIME): Node => ({
  type: 'file',
  data: typeof data === 'string' ? Buffer.from(data) : data,
  mode,
  mtimeMs,
});
export const dir = (children: Spec, mode = 0o755, mtimeMs = MTIME): Node => ({ type: 'dir', children, mode, mtimeMs });
export const link = (target: string, mtimeMs = MTIME): Node => ({ type: 'symlink', target, mtimeMs });

export async function newRepo(opts: { store?: ObjectStore; chunker?: ChunkerParams; packSize?: number } = {}): Promise<{ store: ObjectStore; repo: Repository }> {
  const store = opts.store ?? new MemoryStore();
  await initRepository(store, { id: 'restore-test', created: new Date(0), chunker: opts.chunker ?? TEST_CHUNKER, packSize: opts.packSize ?? 1024 * 1024 });
  return { store, repo: await openRepository(store) };
}

async function saveSpec(repo: Repository, spec: Spec): Promise<BlobId> {
  const entries: TreeEntry[] = [];
  for (const [name, node] of Object.entries(spec)) {
    if (node.type === 'dir') {
      entries.push({ name, type: 'dir', mode: node.mode ?? 0o755, mtimeMs: node.mtimeMs ?? MTIME, subtree: await saveSpec(repo, node.children) });
    } else if (node.type === 'symlink') {
      entries.push({ name, type: 'symlink', target: node.target, mtimeMs: node.mtimeMs ?? MTIME });
    } else {
      const chunks: BlobId[] = [];
      let start = 0;
      for (const end of cutPoints(node.data, repo.format.chunker)) {
        const data = node.data.subarray(start, end);
        const id = repo.blobId(data);
        chunks.push(id);
        await repo.addBlob('data', id, data);
        start = end;
      }
      entries.push({ name, type: 'file', mode: node.mode ?? 0o644, mtimeMs: node.mtimeMs ?? MTIME, size: node.data.byteLength, chunks });
    }
  }
  return repo.saveTree({ entries } satisfies Tree);
}

/** Saves the spec as a layer (trees and chunks, flushed); returns the root tree id. */
export async function saveLayer(repo: Repository, spec: Spec): Promise<BlobId> {
  const root = await saveSpec(repo, spec);
  await repo.flush();
  return root;
}

export async function tempDir(t: { after: (fn: () => Promise<void>) => void }, label = 'restore'): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), `strata-${label}-`));
  t.after(() => rm(d, { recursive: true, force: true }));
  return d;
}

/** One line per path under `root` (sorted): kind, mode, mtime to the ms, size and content hash or link target. */
export async function listing(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (abs: string, rel: string): Promise<void> => {
    for (const name of (await readdir(abs)).sort()) {
      const p = join(abs, name);
      const r = rel === '' ? name : `${rel}/${name}`;
      const st = await lstat(p);
      const meta = `${(st.mode & 0o7777).toString(8)} ${Math.round(st.mtimeMs)}`;
      if (st.isSymbolicLink()) out.push(`L ${r} -> ${await readlink(p)} ${Math.round(st.mtimeMs)}`);
      else if (st.isDirectory()) {
        await walk(p, r);
        out.push(`D ${r} ${meta}`);
      } else out.push(`F ${r} ${meta} ${st.size} ${createHash('sha256').update(await readFile(p)).digest('hex').slice(0, 16)}`);
    }
  };
  await walk(root, '');
  return out.sort();
}

/** The listing a spec should restore to. */
export function expectedListing(spec: Spec): string[] {
  const out: string[] = [];
  const walk = (s: Spec, rel: string): void => {
    for (const [name, n] of Object.entries(s)) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const mt = Math.round(n.mtimeMs ?? MTIME);
      if (n.type === 'symlink') out.push(`L ${r} -> ${n.target} ${mt}`);
      else if (n.type === 'dir') {
        walk(n.children, r);
        out.push(`D ${r} ${(n.mode ?? 0o755).toString(8)} ${mt}`);
      } else out.push(`F ${r} ${(n.mode ?? 0o644).toString(8)} ${mt} ${n.data.byteLength} ${createHash('sha256').update(n.data).digest('hex').slice(0, 16)}`);
    }
  };
  walk(spec, '');
  return out.sort();
}
