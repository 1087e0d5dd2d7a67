// Names the CLI prints in text mode come from the disk, the bucket and the agent: none is trusted.
// A name holding terminal escapes or line breaks must show as visible escapes (\x1b, \n), never
// reach the terminal raw, and never split one line into two; --json carries the names as they are.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { StrataError } from '../errors.js';
import { serveControl, type ControlServer } from '../control/index.js';
import { FakeAgent, folderStatus } from '../control/testkit.js';
import { run } from './run.js';
import { cleanEnv, describeRun, strata, writeTree } from './testkit.js';

// Sets the terminal's title, clears the screen, and starts a line that looks like the CLI's own.
const EVIL = 'evil\x1b]0;pwned\x07\x1b[2J\nstrata: all good\u009b31m\u202Etxt.exe';
const SHOWN = 'evil\\x1b]0;pwned\\x07\\x1b[2J\\nstrata: all good\\x9b31m\\u202etxt.exe';

/** Nothing a terminal would act on: printable text, line breaks between lines only. */
function assertInert(out: string): void {
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(out.replace(/\n/g, ''), /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/, JSON.stringify(out));
}

async function inProcess(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, { stdout: (s) => (stdout += s), stderr: { write: (s: string) => (stderr += s), isTTY: false }, env: {} });
  return { code, stdout, stderr };
}

describe('the CLI shows hostile names escaped', () => {
  let tmp: string;

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'strata-hostile-'));
  });
  after(() => rm(tmp, { recursive: true, force: true }));

  it('snapshot warns of a name it skips, and ls shows a link target, escaped; --json keeps them as they are', async () => {
    const src = join(tmp, 'src');
    const store = pathToFileURL(join(tmp, 'store')).href;
    await writeTree(src, { [EVIL]: 'x', 'link': { link: EVIL }, 'ok.txt': 'fine' });
    const cli = (...args: string[]) => strata(['--store', store, '--device', 'dev1', ...args], cleanEnv());
    assert.equal((await cli('init')).code, 0);

    const snap = await cli('snapshot', src, '--layer', 'user/alice');
    assert.equal(snap.code, 0, describeRun(snap));
    assertInert(snap.stderr);
    assert.deepEqual(snap.stderr.trimEnd().split('\n'), [`strata: warning: skipped ${SHOWN}: name contains a control character`]);

    const ls = await cli('ls', '--layer', 'user/alice');
    assert.equal(ls.code, 0, describeRun(ls));
    assertInert(ls.stdout);
    const lines = ls.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 2, describeRun(ls));
    assert.ok(lines[0]?.endsWith(`link -> ${SHOWN}`), describeRun(ls));

    const json = await cli('ls', '--layer', 'user/alice', '--json');
    assert.equal((JSON.parse(json.stdout) as { entries: { target?: string }[] }).entries[0]?.target, EVIL);
  });

  it('an error naming a hostile path is one line, escaped', async () => {
    const r = await inProcess('--store', pathToFileURL(join(tmp, 'store')).href, 'ls', '--layer', 'user/alice', EVIL);
    assert.equal(r.code, 1, describeRun({ ...r }));
    assertInert(r.stderr);
    assert.equal(r.stderr.split('\n').length, 2, r.stderr);
    assert.match(r.stderr, /^strata: E_PATH_NOT_FOUND evil\\x1b\]0;pwned\\x07\\x1b\[2J\\nstrata: all good\\x9b31m\\u202etxt\.exe: /);
  });

  describe('from the agent', () => {
    let stateDir: string;
    let agent: FakeAgent;
    let server: ControlServer;
    const root = `/home/alice/${EVIL}`;

    beforeEach(async (t) => {
      stateDir = join(tmp, t.name.replace(/\W+/g, '-'));
      agent = new FakeAgent([
        folderStatus(root, {
          state: 'error',
          error: { code: 'E_SCAN', message: `cannot read ${EVIL}`, path: EVIL },
          pendingDeletes: { files: 40, of: 50, direction: 'local' },
          conflicts: [{ path: EVIL, copy: `${EVIL}.sync-conflict-20240501-100000-other`, device: 'other' }],
        }),
      ]);
      server = await serveControl(agent, { stateDir });
    });
    afterEach(() => server.close());

    for (const command of ['status', 'conflicts', 'deletes']) {
      it(`${command} escapes the folder, the paths and the error`, async () => {
        const r = await inProcess(command, '--state-dir', stateDir);
        assert.equal(r.code, 0, r.stderr);
        assertInert(r.stdout);
        assert.ok(r.stdout.includes(`/home/alice/${SHOWN}`), r.stdout);
        const json = await inProcess(command, '--state-dir', stateDir, '--json');
        assert.ok(JSON.stringify(JSON.parse(json.stdout)).includes(JSON.stringify(root).slice(1, -1)), json.stdout);
      });
    }

    it('conflicts keeps its columns lined up under a hostile name', async () => {
      const r = await inProcess('conflicts', '--state-dir', stateDir);
      const [head, name, copy] = r.stdout.split('\n').slice(1, 4);
      assert.ok(name?.includes(`name  ${SHOWN} `), r.stdout);
      for (const row of [name, copy]) assert.equal(row?.indexOf('not scanned yet'), head?.indexOf('MODIFIED'), r.stdout);
    });

    it("the agent's refusal naming a hostile path is one line, escaped", async () => {
      agent.failWith = new StrataError('E_NO_FOLDER', 'is not a synced folder', { path: root });
      const r = await inProcess('status', '--state-dir', stateDir);
      assert.equal(r.code, 1);
      assertInert(r.stderr);
      assert.equal(r.stderr, `strata: E_NO_FOLDER /home/alice/${SHOWN}: is not a synced folder\n`);
    });
  });
});
