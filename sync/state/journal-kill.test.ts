import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { makeRng, testSeed } from '../testing/random.js';
import { openFileIndex } from './file-index.js';
import { contents, tempDir, workloadState } from './testkit.js';

const CHILD = fileURLToPath(new URL('./kill-child.ts', import.meta.url));
const ROUNDS = 4;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Runs the committing child and SIGKILLs it once it has reported `extra` more commits than it
 * started with, plus `delayMs`; resolves with the last sequence number it reported as committed.
 */
function runAndKill(dir: string, seed: number, extra: number, delayMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, String(seed)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let buffered = '';
    let start = -1;
    let last = -1;
    let armed = false;
    child.stdout.on('data', (b: Buffer) => {
      buffered += b.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const [word, num] = line.split(' ');
        if (word === 'start') start = last = Number(num);
        if (word === 'committed') last = Number(num);
      }
      if (!armed && start >= 0 && last >= start + extra) {
        armed = true;
        // A delay lets the kill land anywhere in a later commit or compaction, not just after one.
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(last);
      else reject(new Error(`kill child exited with ${code}`));
    });
  });
}

describe('file index journal: process killed mid-commit', () => {
  it('after each SIGKILL the index equals a committed prefix no shorter than what was reported', async (t) => {
    const seed = testSeed('journal kill');
    const rng = makeRng(seed);
    const dir = await tempDir(t, 'kill');
    for (let round = 0; round < ROUNDS; round++) {
      const reported = await runAndKill(dir, seed, rng.range(20, 400), rng.int(30));
      const index = await openFileIndex(dir, 'synced');
      console.log(`journal kill: round ${round}: reported ${reported}, reopened at ${index.sequence}, discarded ${index.discardedBytes} B`);
      assert.ok(index.sequence >= reported, `sequence ${index.sequence} lost commits up to ${reported}`);
      assert.deepEqual(contents(index), workloadState(seed, index.sequence));
      await index.close();
    }
  });
});
