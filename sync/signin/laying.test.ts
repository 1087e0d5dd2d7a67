// The `laying` marker (laying.ts) between two sign-ins of one state dir: a lay must not start while
// another process is laying — the two would race on home, and the first to finish would remove the
// marker while the other still writes, so that an agent or a logout would then take the half-laid
// home for a laid one.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { access, mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it, type TestContext } from 'node:test';
import { parseOrgConfig } from '../../shared/org-config.js';
import { writeTree } from '../cli/testkit.js';
import { isStrataError } from '../errors.js';
import { preloadUserLayer, writeProfile } from '../profile/index.js';
import { exfatDir } from '../testing/case-insensitive-disk.js';
import { layHome } from './lay.js';
import { endLaying, holdLaying, lastLayCutOff, runningLay, startLaying } from './laying.js';
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
  await race(t, dir);
});

// FAT and exFAT disks (a USB stick) and some network shares refuse hard links (EPERM): the marker
// is then created with O_EXCL and written after, so a reader may find it empty or partly written.
it('on a disk without hard links (exFAT) a lay marks, ends and takes over as on any other, and of two processes racing exactly one lays', async (t) => {
  const dir = await exfatDir(t);
  if (dir === undefined) return;
  const stateDir = join(dir, 'state');
  await mkdir(stateDir);
  assert.equal(await startLaying(stateDir), true);
  assert.equal(JSON.parse(await readFile(join(stateDir, 'laying'), 'utf8')).pid, process.pid);
  await endLaying(stateDir);
  assert.equal(await holdLaying(stateDir), true);
  assert.equal(await startLaying(stateDir), true, "this process's own untouched hold is taken over");
  await endLaying(stateDir);
  await race(t, dir);
});

it('a marker still being written (empty or partial, where links are refused) names its creator while it lives, and is a cut-off lay once it is gone', async (t) => {
  const stateDir = await mkdtemp(join(tmpdir(), 'strata-laying-partial-'));
  t.after(() => rm(stateDir, { recursive: true, force: true }));
  const creator = spawn('sleep', ['120']);
  t.after(() => creator.kill());
  // writeFileExclusive keeps the whole content in its temp file beside the marker until the marker is written.
  const pending = join(stateDir, '.laying.0123456789ab.tmp');
  await writeFile(pending, `${JSON.stringify({ pid: creator.pid, started: new Date().toISOString() })}\n`);
  for (const partial of ['', '{"pid":']) {
    await writeFile(join(stateDir, 'laying'), partial);
    await assert.rejects(startLaying(stateDir), (err) => {
      assert.ok(isStrataError(err, 'E_LAYING'), String(err));
      assert.match(String(err), new RegExp(`^E_LAYING ${stateDir}: .*process ${creator.pid}[^\n]*$`));
      return true;
    });
    assert.equal(await runningLay(stateDir), creator.pid);
  }
  creator.kill();
  await once(creator, 'exit');
  assert.equal(await runningLay(stateDir), undefined);
  assert.equal(await lastLayCutOff(stateDir), true, 'a marker never written whole may hide a cut-off lay');
  assert.equal(await startLaying(stateDir), false);
  assert.equal(JSON.parse(await readFile(join(stateDir, 'laying'), 'utf8')).pid, process.pid);
});

async function race(t: TestContext, dir: string): Promise<void> {
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
}

it('claims left by processes that died taking a marker over are removed by the next takeover', async (t) => {
  const stateDir = await mkdtemp(join(tmpdir(), 'strata-laying-claims-'));
  t.after(() => rm(stateDir, { recursive: true, force: true }));
  const gone = spawn('true');
  await once(gone, 'exit');
  const dead = (started: string): string => `${JSON.stringify({ pid: gone.pid, started })}\n`;
  const stale = dead('2024-01-01T00:00:00.000Z');
  await writeFile(join(stateDir, 'laying'), stale);
  // One died holding the claim on this marker; one on a marker it had replaced already (its own, now gone).
  const hash = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 16);
  await writeFile(join(stateDir, `laying.claim-${hash(stale)}`), dead('2024-01-01T00:00:01.000Z'));
  await writeFile(join(stateDir, `laying.claim-${hash(dead('2023-12-31T00:00:00.000Z'))}`), dead('2023-12-31T00:00:01.000Z'));
  assert.equal(await startLaying(stateDir), false);
  assert.deepEqual((await readdir(stateDir)).sort(), ['laying']);
});

// A process that dies between writing a marker's (or a claim's) temp file and linking or removing
// it leaves the temp beside the marker. The next process to take the marker removes those of
// processes gone, and leaves those still in use: a whole one naming a running process, and one
// still being written (empty or partial) unless it was left long ago.
it('temp files left by processes that died writing a marker or a claim are removed by the next one to take it, and those in use stay', async (t) => {
  const stateDir = await mkdtemp(join(tmpdir(), 'strata-laying-temps-'));
  t.after(() => rm(stateDir, { recursive: true, force: true }));
  const gone = spawn('true');
  await once(gone, 'exit');
  const running = spawn('sleep', ['120']);
  t.after(() => running.kill());
  const of = (pid: number | undefined): string => `${JSON.stringify({ pid, started: '2024-01-01T00:00:00.000Z' })}\n`;
  const claimTemp = `.laying.claim-${'0'.repeat(16)}.00000000000b.tmp`;
  await writeFile(join(stateDir, '.laying.00000000000a.tmp'), of(gone.pid));
  await writeFile(join(stateDir, claimTemp), of(gone.pid));
  await writeFile(join(stateDir, '.laying.00000000000c.tmp'), '');
  const longAgo = new Date(Date.now() - 2 * 3600_000);
  await utimes(join(stateDir, '.laying.00000000000c.tmp'), longAgo, longAgo);
  const inUse = ['.laying.0000000000f1.tmp', '.laying.0000000000f2.tmp', `.laying.claim-${'0'.repeat(16)}.0000000000f3.tmp`];
  await writeFile(join(stateDir, inUse[0]!), of(running.pid));
  await writeFile(join(stateDir, inUse[1]!), '{"pid":');
  await writeFile(join(stateDir, inUse[2]!), of(running.pid));
  await writeFile(join(stateDir, 'unrelated.00000000000d.tmp'), of(gone.pid));

  assert.equal(await startLaying(stateDir), true);
  assert.deepEqual((await readdir(stateDir)).sort(), [...inUse, 'laying', 'unrelated.00000000000d.tmp'].sort());
  await endLaying(stateDir);

  // The same after taking over a marker left by a process gone.
  await writeFile(join(stateDir, 'laying'), of(gone.pid));
  await writeFile(join(stateDir, '.laying.00000000000a.tmp'), of(gone.pid));
  assert.equal(await startLaying(stateDir), false);
  assert.deepEqual((await readdir(stateDir)).sort(), [...inUse, 'laying', 'unrelated.00000000000d.tmp'].sort());
});
