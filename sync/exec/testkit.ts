/**
 * Test helpers for the executor: trees from the planner's compact spec whose content keys are
 * real hashes of real bytes, a tiny scanner that reads a directory back into a flat tree the
 * same way, a fetch that serves bytes by content key, and the disk layout of a local tree.
 */
import { createHash } from 'node:crypto';
import { lstat, lutimes, mkdir, mkdtemp, open, readdir, readFile, readlink, rm, symlink, chmod, writeFile, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { planApply, type ApplyOp, type FileNode, type Node } from '../plan/index.js';
import { compareStrings, joinPath } from '../plan/nodes.js';
import { tree as specTree } from '../plan/testkit.js';
import { makeRng } from '../testing/random.js';
import type { FetchFn } from './context.js';

export function keyOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The bytes a spec content string stands for: `big:<seed>:<size>` → `size` seeded random bytes
 * (for crash tests that need slow writes), anything else → its UTF-8.
 */
export function bytesOf(spec: string): Buffer {
  const m = /^big:(\d+):(\d+)$/.exec(spec);
  if (!m) return Buffer.from(spec);
  return Buffer.from(makeRng(Number(m[1])).bytes(Number(m[2])));
}

/** Bytes by content key: everything a test's trees may hold. */
export class Blobs extends Map<string, Buffer> {
  add(bytes: Buffer): string {
    const key = keyOf(bytes);
    this.set(key, bytes);
    return key;
  }

  fetch(chunk = 1 << 30): FetchFn {
    return async (node, fh) => {
      const bytes = this.get(node.content);
      if (bytes === undefined) throw new Error(`no bytes for ${node.content}`);
      for (let at = 0; at < bytes.length; at += chunk) {
        await fh.write(bytes, at, Math.min(chunk, bytes.length - at), at);
      }
    };
  }
}

/** planner testkit `tree(spec)`, with each file's content replaced by the key of its bytes. */
export function tree(blobs: Blobs, spec: Record<string, string>): Map<string, Node> {
  const out = new Map<string, Node>();
  for (const [p, n] of specTree(spec)) {
    if (n.type !== 'file') out.set(p, n);
    else {
      const bytes = bytesOf(n.content);
      out.set(p, { ...n, size: bytes.length, content: blobs.add(bytes) } satisfies FileNode);
    }
  }
  return out;
}

/** Lays a tree out on disk (dirs first, their modes last). */
export async function materialize(root: string, t: ReadonlyMap<string, Node>, blobs: Blobs): Promise<void> {
  const paths = [...t.keys()].sort(compareStrings);
  for (const p of paths) {
    const n = t.get(p) as Node;
    const abs = join(root, p);
    if (n.type === 'dir') await mkdir(abs, 0o700);
    else if (n.type === 'symlink') {
      await symlink(n.target, abs);
      if (n.mtimeMs !== undefined) await lutimes(abs, n.mtimeMs / 1000, n.mtimeMs / 1000);
    } else if (n.type === 'file') {
      await writeFile(abs, blobs.get(n.content) as Buffer);
      await chmod(abs, n.mode);
      await utimes(abs, n.mtimeMs / 1000, n.mtimeMs / 1000);
    }
  }
  for (const p of paths.reverse()) {
    const n = t.get(p) as Node;
    if (n.type === 'dir') await chmod(join(root, p), n.mode);
  }
}

/** The flat tree on disk, without following links; temp files are included so tests see them. */
export async function scan(root: string, dir = '', out = new Map<string, Node>()): Promise<Map<string, Node>> {
  for (const name of (await readdir(join(root, dir))).sort(compareStrings)) {
    const rel = joinPath(dir, name);
    const abs = join(root, rel);
    const st = await lstat(abs);
    if (st.isDirectory()) {
      out.set(rel, { type: 'dir', mode: st.mode & 0o7777 });
      await scan(root, rel, out);
    } else if (st.isSymbolicLink()) {
      out.set(rel, { type: 'symlink', target: await readlink(abs), mtimeMs: st.mtimeMs });
    } else {
      out.set(rel, { type: 'file', size: st.size, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777, content: keyOf(await readFile(abs)) });
    }
  }
  return out;
}

export async function tempDir(t: TestContext, name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `strata-exec-${name}-`));
  t.after(async () => {
    await chmodTree(dir);
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Makes every dir owner-writable so a test's tree can be removed. */
async function chmodTree(dir: string): Promise<void> {
  await chmod(dir, 0o700).catch(() => undefined);
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (e.isDirectory()) await chmodTree(join(dir, e.name));
  }
}

/** Appends to a file in place (a user's edit that the executor must not overwrite). */
export async function userAppend(path: string, text: string): Promise<void> {
  const fh = await open(path, 'a');
  await fh.write(text);
  await fh.close();
}

/** A disk laid from `localSpec` in a new temp dir, a folder beside it, and the plan that turns it into `mergedSpec`. */
export interface PlanOver {
  root: string;
  /** A folder outside the root: where a link swapped in may point. */
  outside: string;
  journalPath: string;
  blobs: Blobs;
  ops: ApplyOp[];
}

export async function planOver(t: TestContext, name: string, localSpec: Record<string, string>, mergedSpec: Record<string, string>): Promise<PlanOver> {
  const base = await tempDir(t, name);
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  await mkdir(root);
  await mkdir(outside);
  const blobs = new Blobs();
  await materialize(root, tree(blobs, localSpec), blobs);
  const ops = planApply(await scan(root), tree(blobs, mergedSpec)).ops;
  return { root, outside, journalPath: join(base, 'journal'), blobs, ops };
}
