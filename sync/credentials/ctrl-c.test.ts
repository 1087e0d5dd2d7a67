// Ctrl-C at a terminal sends SIGINT to the whole foreground process group. The keychain's child
// process (bounded.ts) must not be in it: the process's own cleanup after the Ctrl-C (a failed
// sign-in's credentials deleted) still needs it. Yet a parent killed by SIGKILL still takes it
// down. On npm test's throwaway keyring only (its daemon is stopped for a moment to keep an
// operation in flight), and Linux only: the child is found through /proc.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { it } from 'node:test';
import { removeTestOrg, secretServicePid, uniqueTestOrg } from './testing.js';

const BOUNDED = new URL('./bounded.ts', import.meta.url).href;
const SECRETS = new URL('./secrets.ts', import.meta.url).href;

// Saves an entry, loads it when told (a line on stdin), and on SIGINT deletes it, as login's
// cleanup does; says each step, with the keychain child's pid, as a JSON line.
const SCRIPT = `
import { readFile } from 'node:fs/promises';
const b = await import(${JSON.stringify(BOUNDED)});
const { userPrincipal } = await import(${JSON.stringify(SECRETS)});
const org = process.env.ORG;
const who = userPrincipal('alice');
const child = async () => {
  const listed = await readFile('/proc/' + process.pid + '/task/' + process.pid + '/children', 'utf8');
  for (const pid of listed.trim().split(/\\s+/).filter(Boolean)) {
    if ((await readFile('/proc/' + pid + '/cmdline', 'utf8').catch(() => '')).includes('keychain-child')) return Number(pid);
  }
  return undefined;
};
const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const outcome = (p) => p.then((value) => ({ value: value ?? null }), (err) => ({ error: err.message }));
process.on('SIGINT', async () => {
  say({ interrupted: true });
  const deleted = await outcome(b.deleteCredentials(org, who));
  say({ deleted, child: await child() });
});
process.stdin.once('data', async () => {
  const loading = outcome(b.loadCredentials(org, who));
  say({ loading: true });
  say({ loaded: await loading });
});
await b.saveCredentials(org, who, { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' });
say({ saved: true, child: await child() });
`;

/** Whether `pid` is gone (or a zombie nobody reaped yet). */
async function gone(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat === undefined || /^\d+ \(.*\) Z /.test(stat);
}

const skip = process.platform !== 'linux' ? 'the Secret Service is Linux only' : process.env.STRATA_TEST_KEYCHAIN !== '1' && "needs npm test's throwaway keyring";

it('a Ctrl-C to the process group during a keychain operation leaves the keychain child answering it and the cleanup; SIGKILL to the parent ends the child', { skip, timeout: 120_000 }, async (t) => {
  const org = uniqueTestOrg('ctrl-c');
  t.after(() => removeTestOrg(org));
  // Its own process group, as a shell gives a foreground job.
  const script = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), '--input-type=module', '--eval', SCRIPT], { env: { ...process.env, ORG: org }, detached: true, stdio: ['pipe', 'pipe', 'inherit'] });
  t.after(() => script.kill('SIGKILL'));
  const lines = createInterface({ input: script.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const line = await lines.next();
    assert.ok(!line.done, 'the script ended early');
    return JSON.parse(line.value) as Record<string, unknown>;
  };
  const saved = await next();
  assert.equal(saved.saved, true);
  const child = saved.child as number;
  assert.ok(child > 0, JSON.stringify(saved));

  // The Secret Service stopped: the load stays in flight until it is continued.
  const daemon = secretServicePid();
  process.kill(daemon, 'SIGSTOP');
  let stopped = true;
  const resume = (): void => {
    if (stopped) process.kill(daemon, 'SIGCONT');
    stopped = false;
  };
  t.after(resume);
  script.stdin.write('load\n');
  assert.deepEqual(await next(), { loading: true });
  process.kill(-(script.pid as number), 'SIGINT');
  assert.deepEqual(await next(), { interrupted: true });
  resume();

  assert.deepEqual(await next(), { loaded: { value: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' } } }, 'the operation in flight was answered');
  assert.deepEqual(await next(), { deleted: { value: true }, child }, "the cleanup's operation ran, in the same child");

  const exited = once(script, 'close');
  script.kill('SIGKILL');
  await exited;
  while (!(await gone(child))) await sleep(20);
});
