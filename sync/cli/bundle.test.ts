/**
 * The bundled CLI (scripts/bundle.mjs), which is what ships and what the benchmark times: built
 * into a fresh folder, it must run on its own — its chunk pool's worker beside it, the native
 * modules from node_modules — and lay back what it stored.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cleanEnv, describeRun, readTree, spawnNode, writeTree } from './testkit.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
let outdir: string;
let work: string;

before(async () => {
  // Inside the repository, so that the native modules resolve from node_modules as they do in dist/bundle.
  await mkdir(join(REPO_ROOT, 'dist'), { recursive: true });
  outdir = await mkdtemp(join(REPO_ROOT, 'dist', '.bundle-test-'));
  work = await mkdtemp(join(tmpdir(), 'strata-bundle-'));
  const built = await spawnNode([join(REPO_ROOT, 'scripts/bundle.mjs'), '--outdir', outdir]);
  assert.equal(built.code, 0, describeRun(built));
});

after(async () => {
  await rm(outdir, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

function bundled(args: string[]): ReturnType<typeof spawnNode> {
  // Config, caches and state stay in the test's folder.
  const env = cleanEnv({ HOME: work, XDG_CONFIG_HOME: join(work, 'config'), XDG_CACHE_HOME: join(work, 'cache'), XDG_STATE_HOME: join(work, 'state') });
  return spawnNode([join(outdir, 'strata.js'), ...args], env);
}

test('the bundled CLI stores a folder and restores it byte for byte, chunking through its worker', async () => {
  const help = await bundled(['--help']);
  assert.equal(help.code, 0, describeRun(help));
  assert.match(help.stdout, /strata/);

  const files = join(work, 'files');
  // Above the chunk pool's inline limit (64 KiB): chunked in a worker thread, which must load outdir/worker.js.
  await writeTree(files, { 'big.bin': randomBytes(300 * 1024), docs: { 'a.txt': 'alpha\n', 'b.txt': 'beta\n' } });
  const store = ['--store', pathToFileURL(join(work, 'repo')).href];
  for (const args of [
    ['init', ...store],
    ['snapshot', files, '--layer', 'user/bundle', '--device', 'b1', ...store],
    ['restore', join(work, 'out'), '--layer', 'user/bundle', ...store],
    ['check', '--read-data', ...store],
  ]) {
    const r = await bundled(args);
    assert.equal(r.code, 0, `strata ${args[0]}: ${describeRun(r)}`);
  }
  assert.deepEqual(await readTree(join(work, 'out')), await readTree(files));
});
