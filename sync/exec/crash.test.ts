import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it, type TestContext } from 'node:test';
import { planApply, type ApplyOp, type Node } from '../plan/index.js';
import { show } from '../plan/testkit.js';
import { TEMP_PREFIX } from '../fsutil.js';
import { makeRng, testSeed, type Rng } from '../testing/random.js';
import { executePlan, recover } from './index.js';
import { Blobs, materialize, scan, tempDir, tree } from './testkit.js';

const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const SLOTS = ['f0', 'f1', 'f2', 'f3', 'd/f4', 'd/f5', 'd/sub/f6', 'e/f7', 'tc'];

/** A local and a merged spec over the same slots, sharing contents so copies, moves and stashes happen. */
function specs(rng: Rng, seed: number): { local: Record<string, string>; merged: Record<string, string>; contents: string[] } {
  const contents = [0, 1, 2, 3, 4].map((k) => `big:${seed + k}:${rng.range(64 * 1024, 600 * 1024)}`).concat(['small a', 'small b']);
  const side = (): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const slot of SLOTS) {
      const roll = rng.int(10);
      if (roll < 2) continue;
      if (roll === 2) out[slot] = `->${rng.pick(SLOTS)}@${rng.int(5)}`;
      else if (roll === 3 && slot === 'tc') out['tc/in'] = rng.pick(contents);
      else out[slot] = `${rng.pick(contents)}@${rng.int(5)}#${rng.pick(['644', '600', '755'])}`;
    }
    return out;
  };
  const local = side();
  const merged = side();
  // A swap of two local files forces a stash.
  if (local.f0 !== undefined && local.f1 !== undefined) [merged.f0, merged.f1] = [local.f1, local.f0];
  return { local, merged, contents };
}

/** Runs the plan in a child and SIGKILLs it `delayMs` after its `killAfter`-th applied op (0: after it starts). */
function runChild(jobPath: string, killAfter: number, delayMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, jobPath], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
    let lines = 0;
    let armed = false;
    const arm = () => {
      armed = true;
      setTimeout(() => child.kill('SIGKILL'), delayMs);
    };
    child.stdout.on('data', (b: Buffer) => {
      lines += b.toString().split('\n').length - 1;
      if (!armed && lines >= killAfter + 1) arm();
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve('killed') : code === 0 ? resolve('finished') : reject(new Error(`child exited ${code}`))));
  });
}

function isTemp(p: string): boolean {
  return (p.split('/').pop() ?? '').startsWith(TEMP_PREFIX);
}

async function crashScenario(t: TestContext, seed: number): Promise<string> {
  const rng = makeRng(seed);
  const base = await tempDir(t, 'crash');
  const root = join(base, 'root');
  const journalPath = join(base, 'journal');
  await mkdir(root);
  const blobs = new Blobs();
  const { local: localSpec, merged: mergedSpec, contents } = specs(rng, seed);
  const merged = tree(blobs, mergedSpec);
  await materialize(root, tree(blobs, localSpec), blobs);
  const outcomes: string[] = [];
  for (let round = 0; round < 3; round++) {
    const ops: ApplyOp[] = planApply(await scan(root), merged).ops;
    if (ops.length === 0) break;
    const jobPath = join(base, `job${round}.json`);
    await writeFile(jobPath, JSON.stringify({ root, journalPath, ops, contents }));
    outcomes.push(`${await runChild(jobPath, rng.int(ops.length), rng.int(30))} of ${ops.length}`);
    for (const [p, n] of await scan(root)) {
      if (n.type === 'file' && !isTemp(p)) assert.ok(blobs.has(n.content), `seed ${seed}: ${p} holds bytes no version had`);
    }
    const report = await recover(root, journalPath);
    assert.ok(report.interrupted.every((x) => x.state !== 'other'), `seed ${seed}: ${JSON.stringify(report.interrupted)}`);
    outcomes.push(`recovered ${report.interrupted.map((x) => `${x.op.op}:${x.state}`).join(' ')} temps ${report.tempsRemoved}`);
    assert.deepEqual([...(await scan(root)).keys()].filter(isTemp), [], `seed ${seed}: temps left`);
  }
  const final = await executePlan(root, planApply(await scan(root), merged).ops, { fetch: blobs.fetch(), journalPath });
  assert.equal(final.complete, true, `seed ${seed}`);
  const disk: Map<string, Node> = await scan(root);
  assert.deepEqual(show(disk), show(merged), `seed ${seed}`);
  return outcomes.join('; ');
}

describe('executor: SIGKILL at random points', () => {
  it('recover + re-plan + execute reaches the merged tree; no partial file ever appears', async (t) => {
    const seed = testSeed('exec crash');
    for (let k = 0; k < 3; k++) console.log(`exec crash seed ${seed}+${k}: ${await crashScenario(t, seed + k)}`);
  });
});
