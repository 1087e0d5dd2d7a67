// The control endpoint over real HTTP on loopback, with a fake agent: every guard, every failure
// status, the event stream, and control.json.
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { AgentEvent, AgentStatus } from '../../shared/agent-api.js';
import { StrataError, isStrataError } from '../errors.js';
import { SseParser } from './events.js';
import { CONTROL_FILE, MAX_BODY_BYTES, serveControl, type ControlServer } from './index.js';
import { MAX_BUFFERED_BYTES } from './events.js';
import { FakeAgent, folderStatus } from './testkit.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: { error?: { code: string; message: string; path?: string } } & Record<string, unknown>;
  text: string;
}

interface Send {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Sends the body in pieces without a content-length. */
  chunked?: boolean;
}

function send(url: string, { method = 'POST', path, headers = {}, body, chunked = false }: Send): Promise<Reply> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (s: string) => (text += s));
      const json = /json/.test(res.headers['content-type'] ?? 'json');
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text === '' || !json ? {} : JSON.parse(text), text }));
    });
    req.on('error', reject);
    if (body !== undefined && chunked) {
      const buf = Buffer.from(body);
      for (let i = 0; i < buf.length; i += 8192) req.write(buf.subarray(i, i + 8192));
      req.end();
    } else req.end(body);
  });
}

/** Writes `text` as it is (what http.request would not send) and reads the answer until the server closes. */
function sendRaw(url: string, text: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    let answer = '';
    const socket = connect(Number(port), hostname, () => socket.end(text));
    socket.setEncoding('utf8').on('data', (s: string) => (answer += s));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
  });
}

describe('serveControl', () => {
  let tmp: string;
  let stateDir: string;
  let agent: FakeAgent;
  let server: ControlServer;
  const auth = () => ({ authorization: `Bearer ${server.token}` });
  const json = () => ({ ...auth(), 'content-type': 'application/json' });

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'strata-control-'));
  });
  after(() => rm(tmp, { recursive: true, force: true }));
  beforeEach(async (t) => {
    stateDir = join(tmp, t.name.replace(/\W+/g, '-'), 'state');
    agent = new FakeAgent([folderStatus('/home/alice/Documents', { files: 3 })]);
    server = await serveControl(agent, { stateDir });
  });
  afterEach(() => server.close());

  it('answers a command with the token, on 127.0.0.1 only', async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(server.token, /^[A-Za-z0-9_-]{43}$/);
    const r = await send(server.url, { path: '/api/status', headers: auth() });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, agent.status);
    assert.equal(r.headers['access-control-allow-origin'], undefined);
    const paused = await send(server.url, { path: '/api/pause', headers: json(), body: '{}' });
    assert.equal((paused.body as unknown as AgentStatus).paused, true);
    assert.deepEqual(agent.calls.map((c) => c.command), ['status', 'pause']);
  });

  it('requires the token: none or a wrong one is 401 and reaches no agent', async () => {
    for (const headers of [{} as Record<string, string>, { authorization: 'Bearer wrong' }, { authorization: `Basic ${server.token}` }, { authorization: `Bearer ${server.token}x` }]) {
      const r = await send(server.url, { path: '/api/pause', headers });
      assert.equal(r.status, 401, JSON.stringify(headers));
      assert.equal(r.body.error?.code, 'E_CONTROL_TOKEN');
    }
    // ?token= is for the event stream only.
    const q = await send(server.url, { path: `/api/pause?token=${server.token}` });
    assert.equal(q.status, 401);
    assert.deepEqual(agent.calls, []);
  });

  it('refuses a foreign Host (DNS rebinding) and a foreign Origin, even with the token', async () => {
    const port = new URL(server.url).port;
    for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1:${Number(port) + 1}`]) {
      const r = await send(server.url, { path: '/api/pause', headers: { ...auth(), host } });
      assert.equal(r.status, 403, host);
      assert.equal(r.body.error?.code, 'E_CONTROL_HOST');
    }
    for (const origin of ['http://evil.example', 'null', `http://evil.example:${port}`]) {
      const r = await send(server.url, { path: '/api/pause', headers: { ...auth(), origin } });
      assert.equal(r.status, 403, origin);
      assert.equal(r.body.error?.code, 'E_CONTROL_ORIGIN');
    }
    // Node keeps the first of several Host headers; a request with more than one is refused whole.
    for (const hosts of [[`127.0.0.1:${port}`, 'evil.example'], ['evil.example', `127.0.0.1:${port}`]]) {
      const head = [...hosts.map((h) => `Host: ${h}`), `Authorization: Bearer ${server.token}`, 'Content-Length: 0', 'Connection: close'];
      const answer = await sendRaw(server.url, `POST /api/pause HTTP/1.1\r\n${head.join('\r\n')}\r\n\r\n`);
      assert.match(answer, /^HTTP\/1\.1 403 [^]*"code":"E_CONTROL_HOST"/, hosts.join(' + '));
    }
    const crossSite = await send(server.url, { path: '/api/pause', headers: { ...auth(), 'sec-fetch-site': 'cross-site' } });
    assert.equal(crossSite.status, 403);
    assert.deepEqual(agent.calls, []);
    const own = await send(server.url, { path: '/api/status', headers: { ...auth(), host: `localhost:${port}`, origin: `http://localhost:${port}` } });
    assert.equal(own.status, 200);
  });

  it('answers 400 for an unknown command or a bad argument, 404 and 405 for wrong routes', async () => {
    const cases: [Send, number, string][] = [
      [{ path: '/api/format', headers: json(), body: '{}' }, 400, 'E_CONTROL_BAD_COMMAND'],
      [{ path: '/api/', headers: auth() }, 400, 'E_CONTROL_BAD_COMMAND'],
      [{ path: '/api/toString', headers: auth() }, 400, 'E_CONTROL_BAD_COMMAND'],
      [{ path: '/api/pause', headers: json(), body: '{"force":true}' }, 400, 'E_CONTROL_BAD_ARG'],
      [{ path: '/api/pause', headers: json(), body: '[]' }, 400, 'E_CONTROL_BAD_ARG'],
      [{ path: '/api/pause', headers: json(), body: '"x"' }, 400, 'E_CONTROL_BAD_ARG'],
      [{ path: '/api/confirmDeletes', headers: json(), body: '{}' }, 400, 'E_CONTROL_BAD_ARG'],
      [{ path: '/api/confirmDeletes', headers: json(), body: '{"root":7}' }, 400, 'E_CONTROL_BAD_ARG'],
      [{ path: '/api/confirmDeletes', headers: json(), body: '{"root":"/x","__proto__":1}' }, 400, 'E_CONTROL_BAD_ARG'],
      [{ path: '/api/pause', headers: json(), body: '{"unclosed' }, 400, 'E_CONTROL_BAD_JSON'],
      [{ path: '/api/pause', headers: { ...auth(), 'content-type': 'text/plain' }, body: '{}' }, 415, 'E_CONTROL_MEDIA_TYPE'],
      [{ path: '/', headers: auth() }, 405, 'E_CONTROL_METHOD'],
      [{ method: 'GET', path: '/nothing', headers: auth() }, 404, 'E_CONTROL_NOT_FOUND'],
      [{ path: '/api/pause/now', headers: auth() }, 404, 'E_CONTROL_NOT_FOUND'],
      [{ method: 'GET', path: '/api/status', headers: auth() }, 405, 'E_CONTROL_METHOD'],
      [{ method: 'POST', path: '/api/events', headers: auth() }, 405, 'E_CONTROL_METHOD'],
    ];
    for (const [req, status, code] of cases) {
      const r = await send(server.url, req);
      assert.equal(r.status, status, `${req.path} ${String(req.body)}`);
      assert.equal(r.body.error?.code, code, `${req.path} ${String(req.body)}`);
    }
    assert.deepEqual(agent.calls, []);
    const ok = await send(server.url, { path: '/api/pause', headers: json(), body: '{}' });
    assert.equal(ok.status, 200, 'the connection-level refusals left the server working');
  });

  it('serves the UI without the token: the page and the compiled renderer, under a strict CSP; nothing else', async () => {
    const get = (path: string, headers: Record<string, string> = {}) => send(server.url, { method: 'GET', path, headers });
    const page = await get('/', { 'sec-fetch-site': 'none' });
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'; script-src 'self'/);
    assert.match(page.text, /<script type="module" src="\/ui\/renderer\/index\.js"><\/script>/);
    for (const path of ['/ui/renderer/index.js', '/ui/shared/agent-api.js']) {
      const js = await get(path);
      assert.equal(js.status, 200, path);
      assert.match(String(js.headers['content-type']), /^text\/javascript/, path);
      assert.equal(js.headers['x-content-type-options'], 'nosniff');
    }
    assert.equal((await get('/ui/renderer/missing.js')).status, 404);
    // Anything but those names is the API's, behind the token: no file is served by path.
    for (const path of ['/ui/renderer/../../sync/control/server.js', '/ui/renderer/%2e%2e/x.js', '/ui/sync/control/server.js', '/ui/renderer/index.ts', '/index.html']) {
      assert.equal((await get(path)).status, 401, path);
    }
    // The UI is behind the Host and Origin checks like the rest.
    assert.equal((await get('/', { host: 'evil.example' })).status, 403);
    assert.equal((await get('/', { 'sec-fetch-site': 'cross-site' })).status, 403);
    assert.deepEqual(agent.calls, []);
  });

  it('refuses a body over the cap with 413, by content-length or as it streams', async () => {
    const big = JSON.stringify({ root: 'x'.repeat(MAX_BODY_BYTES) });
    for (const chunked of [false, true]) {
      const r = await send(server.url, { path: '/api/confirmDeletes', headers: json(), body: big, chunked });
      assert.equal(r.status, 413, `chunked=${chunked}`);
      assert.equal(r.body.error?.code, 'E_CONTROL_TOO_LARGE');
    }
    assert.deepEqual(agent.calls, []);
    const atCap = JSON.stringify({ root: 'x'.repeat(MAX_BODY_BYTES - 20) });
    assert.ok(Buffer.byteLength(atCap) <= MAX_BODY_BYTES);
    const r = await send(server.url, { path: '/api/confirmDeletes', headers: json(), body: atCap });
    assert.equal(r.status, 404, 'a body at the cap reaches the agent (which knows no such folder)');
  });

  it("answers an agent's failure with its code, message and path, and a status by its code: 400 bad usage, 404 unknown, 409 no longer so, 500 anything else", async () => {
    const r = await send(server.url, { path: '/api/confirmDeletes', headers: json(), body: '{"root":"/nowhere"}' });
    assert.equal(r.status, 404);
    assert.deepEqual(r.body.error, { code: 'E_NO_FOLDER', message: 'is not a synced folder', path: '/nowhere' });
    const cases: [StrataError, number][] = [
      [new StrataError('E_USAGE', 'keep must be "name" or "copy", not "both"'), 400],
      [new StrataError('E_NO_CONFLICT', 'this folder lists no such conflict copy', { path: 'a.txt' }), 404],
      [new StrataError('E_CONFLICT_GONE', 'this conflict is no longer listed', { path: 'a.sync-conflict-20240501-100000-other.txt' }), 409],
      [new StrataError('E_VERSION_GONE', 'the conflict copy is no longer on the disk', { path: 'a.sync-conflict-20240501-100000-other.txt' }), 409],
      [new StrataError('E_NOT_HELD', 'no pass of this folder is waiting for a confirmation', { path: '/home/alice/Documents' }), 409],
      [new StrataError('E_HOLD_CHANGED', 'the held deletes changed since they were shown', { path: '/home/alice/Documents' }), 409],
      [new StrataError('E_BAD_STATE', 'the record is damaged', { path: '/state/pending.json' }), 500],
      [new StrataError('E_AUTH', 'access denied', { key: 'heads/user/alice' }), 500],
    ];
    for (const [err, status] of cases) {
      agent.failWith = err;
      const failed = await send(server.url, { path: '/api/resolveConflict', headers: json(), body: '{"root":"/home/alice/Documents","copy":"a.txt","keep":"name"}' });
      assert.equal(failed.status, status, err.code);
      assert.deepEqual(failed.body.error, { code: err.code, message: err.message, ...(err.path !== undefined && { path: err.path }), ...(err.key !== undefined && { key: err.key }) });
    }
    agent.failWith = new Error('boom');
    const plain = await send(server.url, { path: '/api/status', headers: auth() });
    assert.equal(plain.status, 500, 'a bug in the agent stays a server error');
    assert.deepEqual(plain.body.error, { code: 'E_AGENT_INTERNAL', message: 'boom' });
    agent.failWith = Object.assign(new Error("ENOSPC: no space left on device, write '/state/pending.json'"), { code: 'ENOSPC', errno: -28, syscall: 'write', path: '/state/pending.json' });
    const full = await send(server.url, { path: '/api/resolveConflict', headers: json(), body: '{"root":"/home/alice/Documents","copy":"a.txt","keep":"name"}' });
    assert.equal(full.status, 500);
    assert.deepEqual(full.body.error, { code: 'E_DISK_FULL', message: 'no space left on device (write)', path: '/state/pending.json' }, 'a full disk is not a bug of the agent');
  });

  it('streams events: the current status first, then every event; ?token= works here', async () => {
    const events: AgentEvent[] = [];
    const { hostname, port } = new URL(server.url);
    let wanted = 1;
    let wake = (): void => undefined;
    const req = request({ host: hostname, port, path: `/api/events?token=${server.token}`, agent: false });
    const got = new Promise<void>((resolve, reject) => {
      req.on('error', reject);
      req.on('response', (res) => {
        assert.equal(res.statusCode, 200);
        assert.match(String(res.headers['content-type']), /^text\/event-stream/);
        const parser = new SseParser();
        res.setEncoding('utf8').on('data', (s: string) => {
          for (const data of parser.push(s)) events.push(JSON.parse(data) as AgentEvent);
          if (events.length >= wanted) wake();
        });
        resolve();
      });
    });
    req.end();
    await got;
    const waitFor = (n: number) => new Promise<void>((resolve) => ((wanted = n), (wake = resolve), events.length >= n && resolve()));
    await waitFor(1);
    assert.deepEqual(events[0], { type: 'status', status: agent.status });
    agent.update({ paused: true });
    const conflict = { path: 'a.txt', copy: 'a.sync-conflict-20240501-100000-other.txt', device: 'other' };
    agent.emit({ type: 'conflict', root: '/home/alice/Documents', conflict });
    await waitFor(3);
    assert.equal(events[1]?.type === 'status' && events[1].status.state, 'paused');
    assert.deepEqual(events[2], { type: 'conflict', root: '/home/alice/Documents', conflict });
    req.destroy();
  });

  it('a reader that falls behind is not cut off: progress statuses coalesce to the newest, other events keep their order', async () => {
    const root = '/home/alice/Documents';
    // A folder with many conflicts makes each status a few KiB, as a big first restore's do.
    const conflicts = Array.from({ length: 40 }, (_, i) => ({ path: `docs/report-${i}.txt`, copy: `docs/report-${i}.sync-conflict-20240501-100000-laptop.txt`, device: 'laptop' }));
    const progress = (files: number) => ({ files, filesTotal: 2300, bytes: files * 1000, bytesTotal: 2_300_000, rate: 0 });
    const downloading = (files: number) => agent.update({ folders: [folderStatus(root, { state: 'downloading', conflicts, progress: progress(files) })] });
    const { hostname, port } = new URL(server.url);
    const events: AgentEvent[] = [];
    let closed = false;
    let more = (): void => undefined;
    const req = request({ host: hostname, port, path: `/api/events?token=${server.token}`, agent: false });
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      req.on('error', reject);
      req.on('response', resolve);
      req.end();
    });
    const parser = new SseParser();
    res.setEncoding('utf8').on('data', (s: string) => {
      for (const data of parser.push(s)) events.push(JSON.parse(data) as AgentEvent);
      more();
    });
    res.on('close', () => ((closed = true), more()));
    const until = (what: string, cond: () => boolean) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; ${events.length} events`)), 20_000);
        more = () => void ((cond() || closed) && (clearTimeout(timer), resolve()));
        more();
      });
    await until('the first status', () => events.length >= 1);
    // The reader stops reading while the agent pushes far more than the cut-off.
    res.pause();
    const conflict = { path: 'a.txt', copy: 'a.sync-conflict-20240501-100000-other.txt', device: 'other' };
    const N = 2300;
    let pushed = 0;
    for (let i = 1; i <= N; i++) {
      downloading(i);
      pushed += JSON.stringify(agent.status).length;
      if (i === 1000) agent.emit({ type: 'conflict', root, conflict });
      // Lets the socket fill up as it would for a reader that is slow, not gone.
      if (i % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    agent.update({ folders: [folderStatus(root, { state: 'idle', conflicts, lastSync: '2024-05-01T10:00:00.000Z' })] });
    assert.ok(pushed > 4 * MAX_BUFFERED_BYTES, `the agent pushed ${pushed} bytes`);
    res.resume();
    const last = (e: AgentEvent) => e.type === 'status' && e.status.folders[0]!.lastSync !== undefined;
    await until('the last status', () => events.some(last));
    assert.equal(closed, false, `the stream was not cut (${events.length} events)`);
    const seen = events.slice(1).map((e) => (e.type === 'conflict' ? 'conflict' : last(e) ? 'idle' : e.status.folders[0]!.progress!.files));
    assert.ok(seen.length < N / 2, `fewer, newer updates: ${seen.length} events for ${N} statuses`);
    assert.deepEqual(seen.slice(-1), ['idle'], 'the newest status comes last');
    // The conflict keeps its place: after the status pushed before it, before those pushed after.
    const at = seen.indexOf('conflict');
    assert.deepEqual([seen[at - 1], seen.indexOf('conflict', at + 1)], [1000, -1]);
    const counts = seen.filter((x): x is number => typeof x === 'number');
    assert.deepEqual(counts, [...counts].sort((a, b) => a - b), 'statuses in the order pushed');
    req.destroy();
  });

  it('writes control.json 0600 in a 0700 state dir, and removes it on close', async () => {
    const file = join(stateDir, CONTROL_FILE);
    assert.equal((await stat(stateDir)).mode & 0o777, 0o700);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), { url: server.url, token: server.token, pid: process.pid });
    await server.close();
    await assert.rejects(stat(file), { code: 'ENOENT' });
    await server.close();
  });

  it('leaves a control.json that is no longer its own', async () => {
    const file = join(stateDir, CONTROL_FILE);
    const other = JSON.stringify({ url: 'http://127.0.0.1:1', token: 'someone-else', pid: 1 });
    await writeFile(file, other, { mode: 0o600 });
    await server.close();
    assert.equal(await readFile(file, 'utf8'), other);
  });

  it('refuses a second endpoint for a state dir whose endpoint still answers', async () => {
    await assert.rejects(serveControl(new FakeAgent(), { stateDir }), (err) => isStrataError(err, 'E_AGENT_ALREADY_RUNNING'));
    await server.close();
    const next = await serveControl(new FakeAgent(), { stateDir });
    assert.notEqual(next.token, server.token);
    await next.close();
  });

  it('refuses a state dir others can write to, and a non-loopback host', async () => {
    const open = join(tmp, 'open-state');
    await serveControl(agent, { stateDir: open }).then((s) => s.close());
    await chmod(open, 0o777);
    await assert.rejects(serveControl(agent, { stateDir: open }), (err) => isStrataError(err, 'E_CONTROL_UNSAFE'));
    await assert.rejects(serveControl(agent, { stateDir, host: '0.0.0.0' }), (err) => err instanceof StrataError && err.code === 'E_CONTROL_HOST');
  });
});
