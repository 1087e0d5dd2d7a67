/**
 * A private build of the current Strata sources for the benchmark: sync/ and shared/ transpiled
 * file by file (no bundling, no type check) into the run's temp dir, as `npm run build` would
 * lay them out, with node_modules linked back to the repository's.
 *
 * Why not bin/strata.js from sources: under Node 20 the chunk workers cannot load worker.ts
 * through tsx (E_CHUNK_WORKER "Unknown file extension .ts"), and tsx would add its transpile
 * time to every command. Why not dist/: it may be stale or absent, and is not ours to write.
 */
import { readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as Esbuild from 'esbuild';
import { StrataError } from '../errors.js';
import { REPO_ROOT } from './swift.js';

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name))
    .filter((p) => !p.includes('/bench/'));
}

/** Builds into `out` and returns the path of the CLI entry point (out/sync/cli/main.js). */
export async function buildStrata(out: string): Promise<string> {
  let esbuild: typeof Esbuild;
  try {
    esbuild = await import('esbuild');
  } catch (err) {
    throw new StrataError('E_BENCH_BUILD', 'esbuild (installed with tsx) is needed to build Strata for the benchmark', {}, { cause: err });
  }
  const entryPoints = [...(await sources(join(REPO_ROOT, 'sync'))), ...(await sources(join(REPO_ROOT, 'shared')))];
  const failed = (message: string, file?: string): StrataError =>
    new StrataError('E_BENCH_BUILD', `building Strata for the benchmark failed: ${message}`, file ? { path: file } : {});
  const result = await esbuild.build({
    entryPoints,
    outdir: out,
    outbase: REPO_ROOT,
    format: 'esm',
    platform: 'node',
    target: `node${process.versions.node.split('.')[0]}`,
    bundle: false,
    logLevel: 'silent',
  }).catch((err: { errors?: { text: string; location?: { file: string } | null }[] }) => {
    const first = err.errors?.[0];
    throw failed(first?.text ?? String(err), first?.location?.file);
  });
  if (result.errors.length > 0) throw failed(result.errors[0]?.text ?? 'unknown error', result.errors[0]?.location?.file);
  await writeFile(join(out, 'package.json'), '{ "type": "module" }\n');
  await symlink(join(REPO_ROOT, 'node_modules'), join(out, 'node_modules'), 'dir');
  return join(out, 'sync/cli/main.js');
}
