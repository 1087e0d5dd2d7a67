import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { DEFAULT_CHUNKER } from '../chunker/index.js';
import { openRepository } from '../repo/format.js';
import { DirStore } from '../store/dir.js';
import { makeRng, testSeed, type Rng } from '../testing/random.js';
import { restoreTree } from './index.js';
import { dir, expectedListing, file, link, listing, newRepo, saveLayer, tempDir, type Spec } from './testkit.js';

const MiB = 1024 * 1024;
const CHILD = fileURLToPath(new URL('./kill-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function layer(rng: Rng): Spec {
  const big = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`big-${i}.bin`, file(rng.bytes(rng.range(MiB, 4 * MiB)))]));
  const small = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`s${i}.txt`, file(rng.bytes(rng.range(0, 8 * 1024)), 0o640)]));
  return { big: dir(big), small: dir(small, 0o750), nested: dir({ deeper: dir({ 'x.bin': file(rng.bytes(300 * 1024)) }) }), ln: link('small/s1.txt') };
}

/** Runs the child restore and SIGKILLs it once it reports `killAt` bytes done (or lets it finish). */
function runAndKill(storeDir: string, root: string, target: string, killAt: number): Promise<'killed' | 'finished'> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, storeDir, root, target], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let buffered = '';
    let killed = false;
    child.stdout.on('data', (b: Buffer) => {
      buffered += b.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const m = /^progress (\d+)$/.exec(line);
        if (!killed && m && Number(m[1]) >= killAt) {
          killed = child.kill('SIGKILL');
        }
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve('killed');
      else if (code === 0) resolve('finished');
      else reject(new Error(`child restore exited with ${code}`));
    });
  });
}

describe('restore: process killed mid-restore', () => {
  it('a SIGKILLed restore of a ~50 MiB layer, run again, is identical to the layer', async (t) => {
    const seed = testSeed('restore kill');
    const rng = makeRng(seed);
    const base = await tempDir(t, 'kill');
    const storeDir = join(base, 'store');
    await mkdir(storeDir);
    const spec = layer(rng);
    const { repo } = await newRepo({ store: new DirStore(storeDir), chunker: { ...DEFAULT_CHUNKER }, packSize: 8 * MiB });
    const root = await saveLayer(repo, spec);
    const target = join(base, 'target');
    const total = Object.values((spec.big as { children: Spec }).children).reduce((s, n) => s + (n.type === 'file' ? n.data.byteLength : 0), 0);
    const outcomes: string[] = [];
    for (let round = 0; round < 2; round++) outcomes.push(await runAndKill(storeDir, root, target, rng.int(total)));
    console.log(`restore kill: outcomes ${outcomes.join(', ')}`);
    const stats = await restoreTree(await openRepository(new DirStore(storeDir)), { target, root });
    assert.deepEqual(await listing(target), expectedListing(spec));
    assert.equal(stats.bytesReused + stats.bytesSeeded + stats.bytesDownloaded, stats.bytes);
  });
});
