// The `laying` marker (laying.ts) between two sign-ins of one state dir: a lay must not start while
// another process is laying — the two would race on home, and the first to finish would remove the
// marker while the other still writes, so that an agent or a logout would then take the half-laid
// home for a laid one.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { parseOrgConfig } from '../../shared/org-config.js';
import { writeTree } from '../cli/testkit.js';
import { isStrataError } from '../errors.js';
import { preloadUserLayer, writeProfile } from '../profile/index.js';
import { layHome } from './lay.js';
import { readSession, writeSession, type Session } from './session.js';
import { layingProcess, memoryBucket } from './testkit.js';

it('a lay refuses while another process is laying the same state dir, and goes ahead once it is gone', async (t) => {
  const { dir, store, repo } = await memoryBucket(t, 'laying');
  await writeTree(join(dir, 'template'), { Documents: { 'plan.txt': 'the plan' } });
  await writeProfile(store, { version: 1, user: 'alice', displayName: '', layers: [], updated: new Date().toISOString() });
  await preloadUserLayer(repo, 'alice', { from: join(dir, 'template') });
  const home = join(dir, 'home');
  const stateDir = join(dir, 'state');
  const org = parseOrgConfig({ version: 1, org: 'acme', store: { bucket: 'acme-strata' }, folders: ['Documents'] }, 'test');
  await writeSession(stateDir, { version: 1, source: 'test', org, user: 'alice', home, mode: org.mode, device: 'pc1', signedIn: new Date().toISOString() } satisfies Session);

  const other = spawn('sleep', ['120']);
  t.after(() => other.kill());
  const marker = `${JSON.stringify({ pid: other.pid, started: new Date().toISOString() })}\n`;
  await writeFile(join(stateDir, 'laying'), marker);
  await assert.rejects(layHome({ store, session: await readSession(stateDir), stateDir }), (err) => {
    assert.ok(isStrataError(err, 'E_LAYING'), String(err));
    assert.match(err.message, new RegExp(`process ${other.pid}`));
    return true;
  });
  assert.equal(await readFile(join(stateDir, 'laying'), 'utf8'), marker, "the other lay's marker stays");
  await assert.rejects(access(join(home, 'Documents')), { code: 'ENOENT' });
  assert.equal((await readSession(stateDir)).laid, undefined);

  other.kill();
  await once(other, 'exit');
  await layHome({ store, session: await readSession(stateDir), stateDir });
  assert.equal(await readFile(join(home, 'Documents/plan.txt'), 'utf8'), 'the plan');
});

it('of two processes starting a lay on one state dir at the same moment, exactly one lays; the same when they take over a cut-off lay', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-laying-race-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const racers = await Promise.all([layingProcess(t), layingProcess(t)]);
  const gone = spawn('true');
  await once(gone, 'exit');
  for (let round = 0; round < 12; round++) {
    const stateDir = join(dir, `state-${round}`);
    await mkdir(stateDir);
    // Odd rounds: the last lay was cut off (its process is gone), and both race to take over.
    const cutOff = round % 2 === 1;
    if (cutOff) await writeFile(join(stateDir, 'laying'), `${JSON.stringify({ pid: gone.pid, started: new Date().toISOString() })}\n`);
    for (const r of racers) r.go(stateDir);
    const answers = (await Promise.all(racers.map((r) => r.answer()))).sort();
    assert.deepEqual(answers, ['E_LAYING', `won ${!cutOff}`], `round ${round}`);
  }
});
