// One agent per state dir: a command that would sync a state dir (strata sync, with or without
// --once) while an agent serves it is refused before it touches the state dir, the folder or the
// bucket, not only once it would serve the control endpoint itself. Two agents over one state dir
// interleave their passes over its records and the folder. In-process through run(), with a
// fake agent serving the state dir.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { serveControl } from '../../control/index.js';
import { FakeAgent } from '../../control/testkit.js';
import { run } from '../run.js';
import { strataInSync, writeTree } from '../testkit.js';

async function strata(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, { stdout: (s) => (stdout += s), stderr: { write: (s: string) => (stderr += s), isTTY: false }, env: {} });
  return { code, stdout, stderr };
}

const listing = async (dir: string): Promise<string[]> => (await readdir(dir, { recursive: true })).sort();

describe('one agent per state dir', () => {
  let tmp: string;
  let storeDir: string;
  let store: string;
  let dir: string;

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'strata-one-agent-'));
    storeDir = join(tmp, 'store');
    store = pathToFileURL(storeDir).href;
    dir = join(tmp, 'dir');
    await writeTree(dir, { 'a.txt': 'from this machine' });
    const init = await strata('init', '--store', store);
    assert.equal(init.code, 0, init.stderr);
  });
  after(() => rm(tmp, { recursive: true, force: true }));

  for (const once of [true, false]) {
    it(`strata sync${once ? ' --once' : ''} refuses a state dir an agent serves before it syncs anything`, async () => {
      const stateDir = join(tmp, `state${once ? '-once' : ''}`);
      const server = await serveControl(new FakeAgent(), { stateDir });
      try {
        const [stateBefore, storeBefore] = [await listing(stateDir), await listing(storeDir)];
        const r = await strata('sync', dir, '--layer', 'user/alice', '--store', store, '--state-dir', stateDir, ...(once ? ['--once'] : []));
        assert.equal(r.code, 1, r.stderr);
        assert.equal(r.stdout, '');
        assert.match(r.stderr, new RegExp(`^strata: E_AGENT_ALREADY_RUNNING ${stateDir}: an agent \\(pid ${process.pid}\\) already serves this state dir at ${server.url}[^\\n]*\\n$`));
        assert.deepEqual(await listing(stateDir), stateBefore, 'nothing written to the state dir');
        assert.deepEqual(await listing(storeDir), storeBefore, 'nothing written to the bucket');
      } finally {
        await server.close();
      }
    });
  }

  it('strata agent refuses a state dir an agent serves before it reads the session (which may lay the layer again)', async () => {
    const stateDir = join(tmp, 'state-agent');
    const server = await serveControl(new FakeAgent(), { stateDir });
    try {
      const stateBefore = await listing(stateDir);
      const r = await strata('agent', '--state-dir', stateDir);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^strata: E_AGENT_ALREADY_RUNNING [^\n]*\n$/);
      assert.deepEqual(await listing(stateDir), stateBefore);
    } finally {
      await server.close();
    }
  });

  it('strata sync --once and strata agent refuse a state dir whose agent is alive but does not answer (stopped)', { timeout: 60_000 }, async (t) => {
    const stateDir = join(tmp, 'state-stopped');
    const { child } = await strataInSync(t, ['sync', dir, '--layer', 'user/alice', '--store', store, '--state-dir', stateDir, '--poll', '3600']);
    // Stopped, it still holds its endpoint's socket and its records: woken, it would go on writing
    // the same device head, stat cache and journal as a second agent on the state dir.
    child.kill('SIGSTOP');
    await writeFile(join(dir, 'b.txt'), 'while the agent was stopped');
    const [stateBefore, storeBefore] = [await listing(stateDir), await listing(storeDir)];
    for (const argv of [['sync', dir, '--layer', 'user/alice', '--store', store, '--state-dir', stateDir, '--once'], ['agent', '--state-dir', stateDir]]) {
      const r = await strata(...argv);
      assert.equal(r.code, 5, `${argv[0]}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, new RegExp(`^strata: E_AGENT_NOT_ANSWERING ${stateDir}: [^\\n]*pid ${child.pid}[^\\n]*\\n$`));
      assert.deepEqual(await listing(stateDir), stateBefore, 'nothing written to the state dir');
      assert.deepEqual(await listing(storeDir), storeBefore, 'nothing written to the bucket');
    }
  });
});
