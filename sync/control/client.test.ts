// connectControl against a real endpoint on loopback with a fake agent, and against the ways an
// agent can be missing: no control.json, a stale one, a wrong token, a file that is not ours.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AgentEvent } from '../../shared/agent-api.js';
import { StrataError, isStrataError } from '../errors.js';
import { CONTROL_FILE, connectControl, serveControl, type ControlClient } from './index.js';
import { deadPid } from '../testing/dead-pid.js';
import { FakeAgent, folderStatus } from './testkit.js';

/** A port nothing listens on (it was free a moment ago). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Collects events until `n` have arrived. */
function collect(client: ControlClient, n: number): { events: AgentEvent[]; done: Promise<void>; stop: () => void; errors: StrataError[] } {
  const events: AgentEvent[] = [];
  const errors: StrataError[] = [];
  let stop = (): void => undefined;
  const done = new Promise<void>((resolve, reject) => {
    stop = client.subscribe(
      (e) => {
        events.push(e);
        if (events.length === n) resolve();
      },
      (err) => {
        errors.push(err);
        reject(err);
      },
    );
  });
  return { events, done, stop, errors };
}

const rejectsWith = (code: `E_${string}`, message?: RegExp) => (err: unknown) => {
  assert.ok(isStrataError(err, code), `expected ${code}, got ${String(err)}`);
  if (message) assert.match(err.message, message);
  return true;
};

describe('connectControl', () => {
  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'strata-control-client-'));
  });
  after(() => rm(tmp, { recursive: true, force: true }));

  it('calls every command and gets the status after it', async () => {
    const stateDir = join(tmp, 'calls');
    const agent = new FakeAgent([folderStatus('/data', { pendingDeletes: { files: 40, of: 50, direction: 'local' } })]);
    const server = await serveControl(agent, { stateDir });
    try {
      const client = await connectControl(stateDir);
      assert.deepEqual(await client.call('status', {}), agent.status);
      assert.equal((await client.call('pause', {})).state, 'paused');
      assert.equal((await client.call('pause', {})).paused, true, 'pausing twice is no error');
      assert.equal((await client.call('resume', {})).state, 'idle');
      assert.equal((await client.call('syncNow', {})).paused, false);
      assert.deepEqual(await client.call('conflicts', {}), []);
      const confirmed = await client.call('confirmDeletes', { root: '/data' });
      assert.equal(confirmed.folders[0]?.pendingDeletes, undefined);
      await assert.rejects(client.call('confirmDeletes', { root: '/elsewhere' }), (err) => {
        assert.ok(err instanceof StrataError);
        assert.equal(err.toString(), 'E_NO_FOLDER /elsewhere: is not a synced folder');
        return true;
      });
      await assert.rejects(client.call('confirmDeletes', {} as { root: string }), rejectsWith('E_CONTROL_BAD_ARG'));
    } finally {
      await server.close();
    }
  });

  it("turns an agent's failure back into the same StrataError, whatever status it came with", async () => {
    const stateDir = join(tmp, 'failures');
    const agent = new FakeAgent();
    const server = await serveControl(agent, { stateDir });
    try {
      const client = await connectControl(stateDir);
      for (const err of [
        new StrataError('E_USAGE', 'keep must be "name" or "copy", not "both"'),
        new StrataError('E_NO_FOLDER', 'no synced folder has this root', { path: '/elsewhere' }),
        new StrataError('E_CONFLICT_GONE', 'this conflict is no longer listed', { path: 'a.sync-conflict-20240501-100000-other.txt' }),
        new StrataError('E_NOT_HELD', 'no pass of this folder is waiting for a confirmation', { path: '/data' }),
        new StrataError('E_AUTH', 'access denied', { key: 'heads/user/alice' }),
      ]) {
        agent.failWith = err;
        await assert.rejects(client.call('resolveConflict', { root: '/data', copy: 'a.txt', keep: 'name' }), (got) => {
          assert.ok(got instanceof StrataError, String(got));
          assert.deepEqual([got.code, got.toString()], [err.code, err.toString()]);
          return true;
        });
      }
      agent.failWith = new Error('boom');
      await assert.rejects(client.call('status', {}), rejectsWith('E_AGENT_INTERNAL', /^boom$/));
    } finally {
      await server.close();
    }
  });

  it('says no agent runs when there is no control.json', async () => {
    await assert.rejects(connectControl(join(tmp, 'nothing-here')), rejectsWith('E_AGENT_NOT_RUNNING', /no agent is running/));
  });

  it('says a control.json is stale when its agent was killed', async () => {
    const stateDir = join(tmp, 'stale');
    await mkdir(stateDir, { mode: 0o700 });
    const pid = await deadPid();
    await writeFile(join(stateDir, CONTROL_FILE), JSON.stringify({ url: `http://127.0.0.1:${await freePort()}`, token: 't', pid }), { mode: 0o600 });
    const client = await connectControl(stateDir);
    await assert.rejects(client.call('status', {}), rejectsWith('E_AGENT_NOT_RUNNING', new RegExp(`stale.*pid ${pid}`)));
    await assert.rejects(
      new Promise((_, reject) => client.subscribe(() => undefined, reject)),
      rejectsWith('E_AGENT_NOT_RUNNING'),
    );
  });

  it('reports a wrong token as E_AGENT_AUTH, and a non-loopback url as a bad control.json', async () => {
    const stateDir = join(tmp, 'token');
    const server = await serveControl(new FakeAgent(), { stateDir });
    try {
      const file = join(stateDir, CONTROL_FILE);
      const info = JSON.parse(await readFile(file, 'utf8')) as { url: string; token: string; pid: number };
      await writeFile(file, JSON.stringify({ ...info, token: 'guessed' }));
      await assert.rejects((await connectControl(stateDir)).call('status', {}), rejectsWith('E_AGENT_AUTH'));
      for (const url of ['http://example.com:80', 'http://127.0.0.1.evil.example:80', 'https://127.0.0.1:443']) {
        await writeFile(file, JSON.stringify({ ...info, url }));
        await assert.rejects(connectControl(stateDir), rejectsWith('E_CONTROL_FILE'), url);
      }
      await writeFile(file, '{"url":');
      await assert.rejects(connectControl(stateDir), rejectsWith('E_CONTROL_FILE'));
    } finally {
      await server.close();
    }
  });

  it('streams the current status, then events, to two clients at once; unsubscribing stops it', async () => {
    const stateDir = join(tmp, 'events');
    const agent = new FakeAgent();
    const server = await serveControl(agent, { stateDir });
    try {
      const [a, b] = [await connectControl(stateDir), await connectControl(stateDir)];
      const ca = collect(a, 3);
      const cb = collect(b, 3);
      while (agent.listenerCount < 2) await new Promise((r) => setTimeout(r, 5));
      assert.equal((await a.call('pause', {})).paused, true);
      assert.equal((await b.call('resume', {})).paused, false);
      // Calls from both clients interleave while both streams are open.
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).call('status', {})));
      for (const r of results) assert.deepEqual(r, agent.status);
      await Promise.all([ca.done, cb.done]);
      for (const { events } of [ca, cb]) {
        assert.deepEqual(
          events.map((e) => e.type === 'status' && e.status.paused),
          [false, true, false],
        );
      }
      ca.stop();
      cb.stop();
      while (agent.listenerCount > 0) await new Promise((r) => setTimeout(r, 5));
      assert.deepEqual(ca.errors, []);
    } finally {
      await server.close();
    }
  });

  it('tells a subscriber the agent went away when the endpoint closes', async () => {
    const stateDir = join(tmp, 'gone');
    const agent = new FakeAgent();
    const server = await serveControl(agent, { stateDir });
    const client = await connectControl(stateDir);
    const c = collect(client, 1);
    await c.done;
    const ended = new Promise<StrataError>((resolve) => client.subscribe(() => void server.close(), resolve));
    assert.equal((await ended).code, 'E_AGENT_DISCONNECTED');
    await assert.rejects(client.call('status', {}), rejectsWith('E_AGENT_NOT_RUNNING'));
    await assert.rejects(connectControl(stateDir), rejectsWith('E_AGENT_NOT_RUNNING'));
    c.stop();
  });
});
