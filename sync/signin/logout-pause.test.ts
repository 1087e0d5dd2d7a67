// The record of a sign-out's pause at an agent's start (logout-pause.ts endCutOffPause), and while
// it runs paused (watchCutOffPause): a sign-out cut off after it paused an agent the user had
// running leaves the pause behind, recorded in the agent's state; the agent must run again (the
// next one at its start, a running one at its watch's next look), unless that sign-out still runs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { access, chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { tempRoot } from '../agent/testkit.js';
import { deadPid } from '../testing/dead-pid.js';
import { isStrataError } from '../errors.js';
import { rerunAsOrdinaryUser } from '../testing/userns.js';
import { openAgentState } from '../state/index.js';
import { endCutOffPause, LOGOUT_PAUSED_FILE, recordLogoutPause, watchCutOffPause } from './logout-pause.js';

const MODULE = pathToFileURL(fileURLToPath(new URL('./logout-pause.ts', import.meta.url))).href;
const HOUR_MS = 3_600_000;

/** A state dir whose agent is recorded paused, as a sign-out (or the user) leaves it. */
async function pausedStateDir(t: TestContext, name: string): Promise<string> {
  const stateDir = join(await tempRoot(t, name), 'state');
  await (await openAgentState(stateDir, { newDeviceId: () => 'pc' })).update((d) => void (d.paused = true));
  return stateDir;
}

const paused = async (stateDir: string): Promise<boolean> => (await openAgentState(stateDir)).get().paused;
const recorded = (stateDir: string): Promise<boolean> => access(join(stateDir, LOGOUT_PAUSED_FILE)).then(() => true, () => false);

test("a sign-out's pause whose sign-out is gone (killed after it paused the agent) ends at the agent's start: it starts running, and the record goes", async (t) => {
  const stateDir = await pausedStateDir(t, 'pause-dead');
  // The sign-out: a process that records its pause and ends without undoing it.
  await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `import { recordLogoutPause } from ${JSON.stringify(MODULE)}; await recordLogoutPause(${JSON.stringify(stateDir)}, 1);`]);
  assert.equal(await endCutOffPause(stateDir), true);
  assert.equal(await paused(stateDir), false, 'the user had it running');
  assert.equal(await recorded(stateDir), false, 'the record went with the pause');
});

test('a pause whose sign-out still runs stays, and so does its record: that sign-out may have marked the head final', async (t) => {
  const stateDir = await pausedStateDir(t, 'pause-live');
  await recordLogoutPause(stateDir, 1);
  assert.equal(await endCutOffPause(stateDir), false);
  assert.equal(await paused(stateDir), true);
  assert.equal(await recorded(stateDir), true);
});

test("the user's own pause (no record) stays", async (t) => {
  const stateDir = await pausedStateDir(t, 'pause-user');
  assert.equal(await endCutOffPause(stateDir), false);
  assert.equal(await paused(stateDir), true);
});

test('a record written before the machine started speaks for no running sign-out, whoever has its pid now', async (t) => {
  const stateDir = await pausedStateDir(t, 'pause-reboot');
  await recordLogoutPause(stateDir, 1);
  // The machine started two days after the record: the pid it names (this process's) is another process's.
  assert.equal(await endCutOffPause(stateDir, { now: Date.now() + 2 * 24 * HOUR_MS, bootMs: Date.now() + 2 * 24 * HOUR_MS }), true);
  assert.equal(await paused(stateDir), false);
  assert.equal(await recorded(stateDir), false);
});

test("an older version's record, which names no sign-out, holds the pause for an hour: a sign-out holds its own for minutes", async (t) => {
  const stateDir = await pausedStateDir(t, 'pause-old');
  // As an older `strata logout` wrote it: the agent's pid only.
  await writeFile(join(stateDir, LOGOUT_PAUSED_FILE), JSON.stringify({ pausedBy: 'strata logout', pid: process.pid }) + '\n');
  assert.equal(await endCutOffPause(stateDir), false, 'just written: its sign-out may run');
  assert.equal(await paused(stateDir), true);
  assert.equal(await endCutOffPause(stateDir, { now: Date.now() + 2 * HOUR_MS }), true, 'unchanged for two hours');
  assert.equal(await paused(stateDir), false);
  assert.equal(await recorded(stateDir), false);
});

for (const [what, make, why] of [
  ['not valid JSON', (file: string) => writeFile(file, '{"pausedBy": "strata lo'), /is not valid JSON/],
  ['a folder', (file: string) => mkdir(join(file, 'inside'), { recursive: true }), /is a folder/],
] as const) {
  test(`a record that is ${what} is no running sign-out's (one writes it whole): the pause ends at the agent's start, and a warning names it`, async (t) => {
    const stateDir = await pausedStateDir(t, 'pause-bad');
    const file = join(stateDir, LOGOUT_PAUSED_FILE);
    await make(file);
    const warnings: string[] = [];
    assert.equal(await endCutOffPause(stateDir, { warn: (line) => warnings.push(line) }), true);
    assert.equal(await paused(stateDir), false, 'the user had it running');
    assert.equal(await recorded(stateDir), false, 'the record is gone');
    assert.equal(warnings.length, 1);
    assert.ok(warnings[0]!.includes(file), warnings[0]);
    assert.match(warnings[0]!, why);
  });
}

test('a record this user cannot read may be a running sign-out\'s (one run as root): the start fails in one line saying what and where; the pause stays', async (t) => {
  if (await rerunAsOrdinaryUser(t, import.meta.url)) return;
  const stateDir = await pausedStateDir(t, 'pause-eacces');
  const file = join(stateDir, LOGOUT_PAUSED_FILE);
  await recordLogoutPause(stateDir, 1);
  await chmod(file, 0);
  await assert.rejects(endCutOffPause(stateDir), (err) => {
    assert.ok(isStrataError(err, 'E_ACCESS_DENIED'), String(err));
    assert.equal(err.path, file);
    assert.doesNotMatch(err.message, /\n/);
    assert.match(err.message, /sign-out/);
    assert.match(err.message, /\(permission denied \(open\)\)/, 'what failed, in the words every failed call on the disk is said in (errors.ts asReported)');
    return true;
  });
  assert.equal(await paused(stateDir), true);
});

test("a running agent paused by a sign-out that is then killed: the watch's next look ends the pause (resumed, saying so); while the sign-out runs, and under the user's own pause, it stays", async (t) => {
  const stateDir = await pausedStateDir(t, 'pause-watch');
  let agentPaused = true;
  const warnings: string[] = [];
  const watch = watchCutOffPause(stateDir, {
    paused: () => agentPaused,
    // The agent's own resume: the watch removes the record.
    resume: async () => void (agentPaused = false),
    warn: (line) => warnings.push(line),
    everyMs: 0,
  });
  t.after(() => watch.stop());
  assert.equal(await watch.check(), false, "the user's own pause: no record");
  // The sign-out (this process) paused the agent and runs on.
  await recordLogoutPause(stateDir, process.pid);
  assert.equal(await watch.check(), false, 'its sign-out runs: it may have marked the head final');
  assert.equal(agentPaused, true);
  // Killed: its record names a process gone.
  await writeFile(join(stateDir, LOGOUT_PAUSED_FILE), JSON.stringify({ pausedBy: 'strata logout', signOutPid: await deadPid(), agentPid: process.pid }) + '\n');
  assert.equal(await watch.check(), true);
  assert.equal(agentPaused, false, 'the user had it running');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /the sign-out that paused sync no longer runs .*sync resumes/);
  assert.equal(await recorded(stateDir), false);
});

test('a running agent that is not paused is left alone by the watch, whatever the record says: it reads nothing', async (t) => {
  const stateDir = await pausedStateDir(t, 'pause-watch-running');
  await writeFile(join(stateDir, LOGOUT_PAUSED_FILE), JSON.stringify({ pausedBy: 'strata logout', signOutPid: await deadPid(), agentPid: process.pid }) + '\n');
  const watch = watchCutOffPause(stateDir, { paused: () => false, resume: async () => assert.fail('not paused: nothing to resume'), warn: () => undefined, everyMs: 0 });
  t.after(() => watch.stop());
  assert.equal(await watch.check(), false);
  assert.equal(await recorded(stateDir), true);
});

test("the watch never undoes a new sign-out's pause: one that replaced the record and paused the agent while the watch looked keeps the agent paused, and its record", async (t) => {
  const stateDir = await pausedStateDir(t, 'pause-watch-new');
  const file = join(stateDir, LOGOUT_PAUSED_FILE);
  // The record of a sign-out cut off: no sign-out writes it so, so the look that finds it says so.
  await writeFile(file, '{"pausedBy": "strata lo');
  let agentPaused = true;
  const newRecord = JSON.stringify({ pausedBy: 'strata logout', signOutPid: process.pid, agentPid: process.pid }) + '\n';
  // While the watch looks (as it warns of the record it found), a new sign-out runs: it resumes the
  // agent for its flush, drops the old record, flushes, records its own pause and pauses the agent.
  const newSignOut = (): void => {
    agentPaused = false;
    rmSync(file);
    writeFileSync(file, newRecord);
    agentPaused = true;
  };
  const watch = watchCutOffPause(stateDir, {
    paused: () => agentPaused,
    resume: async () => void (agentPaused = false),
    warn: newSignOut,
    everyMs: 0,
  });
  t.after(() => watch.stop());
  assert.equal(await watch.check(), false, 'the pause it found cut off is over: the new one is not its to end');
  assert.equal(agentPaused, true, "the new sign-out's pause stands");
  assert.equal(await readFile(file, 'utf8'), newRecord, 'and so does its record');
});

test("the watch removes only the record it found cut off: one a new sign-out wrote as the watch resumed the agent stays, with that sign-out's pause", async (t) => {
  const stateDir = await pausedStateDir(t, 'pause-watch-after');
  const file = join(stateDir, LOGOUT_PAUSED_FILE);
  await writeFile(file, JSON.stringify({ pausedBy: 'strata logout', signOutPid: await deadPid(), agentPid: process.pid }) + '\n');
  let agentPaused = true;
  let newRecord: string | undefined;
  const watch = watchCutOffPause(stateDir, {
    paused: () => agentPaused,
    // The watch's resume, then a new sign-out, all before the watch removes the record: it finds
    // the agent running, drops the old record, flushes, records its own pause and pauses the agent.
    resume: async () => {
      agentPaused = false;
      await rm(file);
      await recordLogoutPause(stateDir, process.pid);
      newRecord = await readFile(file, 'utf8');
      agentPaused = true;
    },
    warn: () => undefined,
    everyMs: 0,
  });
  t.after(() => watch.stop());
  assert.equal(await watch.check(), true);
  assert.equal(agentPaused, true, "the new sign-out's pause stands");
  assert.equal(await readFile(file, 'utf8'), newRecord, 'and so does its record');
});
