/**
 * Process-level crash test: two `strata sync` processes on one store while files keep changing,
 * each SIGKILLed at random moments (mid-scan, mid-upload, mid-apply, mid-snapshot) and restarted.
 * Afterwards: the repository checks clean with every chunk read back, no temp file is left in
 * either folder, and `sync --once` on both brings them to the same tree, with every path holding
 * the last content written to it.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { TEMP_PREFIX } from '../fsutil.js';
import { makeRng, testSeed } from '../testing/random.js';
import { listDir, runStrata, strataChild, tempRoot } from './testkit.js';

async function temps(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.name.startsWith(TEMP_PREFIX)) found.push(join(dir, e.name));
      else if (e.isDirectory()) await walk(join(dir, e.name));
    }
  };
  await walk(root);
  return found;
}

test('SIGKILLed agents restart without corruption and converge', { timeout: 240_000 }, async (t) => {
  const seed = testSeed('agent kill test');
  const rng = makeRng(seed);
  const base = await tempRoot(t, 'kill');
  const store = `file://${join(base, 'store')}`;
  const dirs = { a: join(base, 'a'), b: join(base, 'b') };
  await mkdir(dirs.a);
  await mkdir(dirs.b);
  assert.equal((await runStrata(['init', '--store', store])).code, 0);
  const start = (d: 'a' | 'b') => {
    const p = strataChild(['sync', dirs[d], '--layer', 'user/kill', '--store', store, '--state-dir', join(base, `state-${d}`), '--poll', '0.2']);
    p.stdout?.resume();
    return p;
  };
  const procs = { a: start('a'), b: start('b') };
  t.after(() => Object.values(procs).forEach((p) => p.kill('SIGKILL')));

  const latest = new Map<string, string>();
  let kills = 0;
  for (let round = 0; round < 8; round++) {
    // Device a's user keeps working: new files, edits, a few large enough to take a while.
    for (let i = 0; i < 12; i++) {
      const rel = `r${rng.int(4)}/f${rng.int(20)}.bin`;
      const body = `${seed}:${round}:${i}:`.padEnd(rng.chance(0.2) ? 400_000 + rng.int(600_000) : 100 + rng.int(5000), String.fromCharCode(97 + rng.int(26)));
      await mkdir(join(dirs.a, rel, '..'), { recursive: true });
      await writeFile(join(dirs.a, rel), body);
      latest.set(rel, body);
    }
    await new Promise((r) => setTimeout(r, 200 + rng.int(1500)));
    const victim = rng.pick(['a', 'b'] as const);
    procs[victim].kill('SIGKILL');
    await new Promise((r) => procs[victim].once('exit', r));
    kills++;
    procs[victim] = start(victim);
  }
  for (const p of Object.values(procs)) {
    p.kill('SIGTERM');
    await new Promise((r) => p.once('exit', r));
  }

  const once = (d: 'a' | 'b') => runStrata(['sync', dirs[d], '--once', '--layer', 'user/kill', '--store', store, '--state-dir', join(base, `state-${d}`)]);
  for (const d of ['a', 'b', 'a', 'b'] as const) {
    const r = await once(d);
    assert.equal(r.code, 0, `sync --once on ${d}: ${r.stderr}`);
  }
  const checked = await runStrata(['check', '--read-data', '--store', store]);
  assert.equal(checked.code, 0, `check: ${checked.stderr}`);
  assert.deepEqual(await temps(dirs.a), []);
  assert.deepEqual(await temps(dirs.b), []);
  const a = await listDir(dirs.a);
  assert.deepEqual(await listDir(dirs.b), a, 'the two folders converged');
  for (const [rel, body] of latest) assert.equal(a[rel], body, `${rel} holds the last content written to it`);
  assert.equal(Object.keys(a).filter((p) => p.includes('.sync-conflict-')).length, 0, 'one writer makes no conflicts');
  assert.ok(kills >= 8);
  await rm(base, { recursive: true, force: true });
});
