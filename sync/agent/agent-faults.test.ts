// A live agent whose bucket is a real S3 server behind a proxy that stalls, resets and refuses
// (sync/testing/fault-proxy.ts): a pass that keeps failing ends, says so in one line naming the
// key, writes no head and no partial file, and the folder syncs by itself once the network heals;
// a pause stops every request at once, a stalled one too.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { RetryingStore } from '../store/retrying.js';
import { S3Store } from '../store/s3.js';
import { FaultProxy } from '../testing/fault-proxy.js';
import { makeTestS3Store, skipWithoutS3, testS3Options } from '../testing/s3.js';
import { keys } from '../repo/types.js';
import { Agent } from './agent.js';
import { waitFor } from './live-testkit.js';
import { initStore, LAYER, listDir, tempRoot } from './testkit.js';

const isPut = (req: { method?: string }) => req.method === 'PUT';
const isPackGet = (req: { method?: string; url?: string }) => req.method === 'GET' && /\/data\//.test(req.url ?? '');

interface Rig {
  proxy: FaultProxy;
  /** The bucket, straight (no proxy). */
  direct: S3Store;
  root: string;
  agent: Agent;
}

/** An agent on a fresh bucket through the proxy: a request silent for `idleMs` fails, retried twice with no wait. */
async function rig(t: TestContext, name: string, idleMs: number): Promise<Rig> {
  const fixture = await makeTestS3Store();
  t.after(fixture.cleanup);
  await initStore(fixture.store);
  const proxy = await FaultProxy.start(testS3Options().endpoint as string);
  t.after(() => proxy.close());
  const s3 = new S3Store({ ...testS3Options(), bucket: fixture.store.bucket, endpoint: proxy.endpoint, timeouts: { connectMs: 2000, idleMs } });
  t.after(() => s3.client.destroy());
  const store = new RetryingStore(s3, { retries: 2, sleep: async () => {} });
  const base = await tempRoot(t, name);
  const root = join(base, 'root');
  await mkdir(root, { recursive: true });
  const agent = await Agent.start({ stateDir: join(base, 'state'), folders: [{ root, layer: LAYER }], openStore: () => store, newDeviceId: () => 'deva', watch: false, pollMs: 100 });
  // Before the proxy and the bucket go.
  t.after(() => agent.stop());
  await waitFor('the first pass', () => agent.status().folders[0]!.lastSync !== undefined);
  return { proxy, direct: fixture.store, root, agent };
}

async function headOf(store: S3Store, device: string): Promise<string | undefined> {
  return store.get(keys.head(LAYER, device)).then(
    (b) => Buffer.from(b).toString('hex'),
    () => undefined,
  );
}

test('uploads that stall every time: the pass ends offline on one line naming the key, writes no head, and the folder syncs by itself once the network heals', { skip: skipWithoutS3 }, async (t) => {
  const { proxy, direct, root, agent } = await rig(t, 'faults-upload-stall', 300);
  const head = await headOf(direct, 'deva');
  // Faults first: a poll pass may be running, and would upload the file before them.
  proxy.inject({ kind: 'stall' }, { match: isPut, times: 1000 });
  await writeFile(join(root, 'new.bin'), randomBytes(200_000));
  agent.syncNow();
  await waitFor('a pass ended offline', () => agent.status().folders[0]!.state === 'offline');
  const f = agent.status().folders[0]!;
  assert.equal(f.state, 'offline', JSON.stringify(f));
  assert.equal(f.error?.code, 'E_TRANSIENT');
  assert.ok(f.error?.key, `the error names the key: ${JSON.stringify(f.error)}`);
  assert.doesNotMatch(f.error.message, /\n/);
  assert.equal(await headOf(direct, 'deva'), head, 'no head written over the objects not stored');
  proxy.clear();
  await waitFor('the folder in sync again', () => agent.status().folders[0]!.state === 'idle' && agent.status().folders[0]!.error === undefined);
  assert.notEqual(await headOf(direct, 'deva'), head, 'the healed pass wrote a head');
});

/** Another machine that writes `files` to the bucket straight, and has synced them. */
async function otherMachine(t: TestContext, direct: S3Store, files: Record<string, Buffer>): Promise<void> {
  const base = await tempRoot(t, 'faults-other');
  const root = join(base, 'root');
  await mkdir(root);
  for (const [name, bytes] of Object.entries(files)) await writeFile(join(root, name), bytes);
  const b = await Agent.start({ stateDir: join(base, 'state'), folders: [{ root, layer: LAYER }], openStore: () => direct, newDeviceId: () => 'devb', watch: false, pollMs: 60_000 });
  await waitFor('devb synced', () => b.status().folders[0]!.lastSync !== undefined && b.status().folders[0]!.state === 'idle');
  await b.stop();
}

const laid = (root: string, name: string, bytes: Buffer) => async () => (await listDir(root).catch(() => ({}) as Record<string, string>))[name] === bytes.toString();

test('pack reads that reset or stall every time: the pass ends offline, leaves no partial file, and lays the file once the network heals', { skip: skipWithoutS3 }, async (t) => {
  const { proxy, direct, root, agent } = await rig(t, 'faults-download-stall', 300);
  const big = randomBytes(600_000);
  // Faults first (the other machine writes straight to the bucket): a poll pass may be running.
  proxy.inject({ kind: 'reset', afterBytes: 1000 }, { match: isPackGet, times: 2 });
  proxy.inject({ kind: 'stall', afterBytes: 1000 }, { match: isPackGet, times: 1000 });
  await otherMachine(t, direct, { 'big.bin': big });
  agent.syncNow();
  await waitFor('a pass ended offline', () => agent.status().folders[0]!.state === 'offline');
  const f = agent.status().folders[0]!;
  assert.equal(f.state, 'offline', JSON.stringify(f));
  assert.ok(f.error?.key, `the error names the key: ${JSON.stringify(f.error)}`);
  assert.doesNotMatch(f.error.message, /\n/);
  assert.deepEqual(await listDir(root), {}, 'nothing partial in the folder');
  proxy.clear();
  await waitFor('big.bin laid whole', laid(root, 'big.bin', big));
  await waitFor('the error gone', () => agent.status().folders[0]!.error === undefined);
});

test('a pause while an upload stalls aborts it: no request is in flight once pause returns, none is sent while paused, and a resume syncs', { skip: skipWithoutS3, timeout: 30_000 }, async (t) => {
  // The stalled request would wait a minute before its idle timeout: only an abort ends it in time.
  const { proxy, direct, root, agent } = await rig(t, 'faults-pause-stall', 60_000);
  const head = await headOf(direct, 'deva');
  proxy.inject({ kind: 'stall' }, { match: isPut, times: 1000 });
  await writeFile(join(root, 'new.bin'), randomBytes(200_000));
  agent.syncNow();
  await waitFor('a stalled upload', () => proxy.inFlight > 0 && proxy.seen.some((s) => s.endsWith(' stall')));
  await agent.pause();
  // The client has closed it; the proxy hears so a moment later. No time limit but the test's: the
  // stalled request's own idle timeout (60 s) is beyond it, so only an abort gets here.
  await proxy.idle();
  const seen = proxy.seen.length;
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(proxy.seen.length, seen, 'no request while paused');
  assert.equal(agent.status().folders[0]!.state, 'paused');
  proxy.clear();
  await agent.resume();
  await waitFor('the folder in sync again', () => agent.status().folders[0]!.state === 'idle' && agent.status().folders[0]!.lastSync !== undefined);
  await waitFor('a new head', async () => (await headOf(direct, 'deva')) !== head);
});

test('a pause during a large download stops its bytes at once; a resume lays the file whole', { skip: skipWithoutS3, timeout: 60_000 }, async (t) => {
  const { proxy, direct, root, agent } = await rig(t, 'faults-pause-large', 60_000);
  const big = randomBytes(3 * 1024 * 1024);
  await otherMachine(t, direct, { 'big.bin': big });
  // A slow link: the download surely runs when the pause comes.
  proxy.inject({ kind: 'trickle', bytes: 16 * 1024, everyMs: 20 }, { match: isPackGet, times: 1000 });
  agent.syncNow();
  await waitFor('the download under way', () => proxy.bytes.down > 200_000);
  await agent.pause();
  // Not waited for with a time limit: a download that went on would end whole, which the next check catches.
  await proxy.idle();
  const down = proxy.bytes.down;
  assert.ok(down < big.length, `the download was cut short, not waited for (${down} bytes of ${big.length})`);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(proxy.bytes.down, down, 'no byte received while paused');
  assert.deepEqual(await listDir(root), {}, 'nothing partial in the folder');
  proxy.clear();
  await agent.resume();
  await waitFor('big.bin laid whole', laid(root, 'big.bin', big));
});
