// `strata sync --once` and a held mass delete, as child processes on a file:// store: the pass
// exits 3 and changes nothing; run again with --deletes restore it puts the files back, with
// --deletes confirm it deletes them; a wrong --deletes is bad usage. --case-insensitive folds names
// differing only in case as the org config's policies.caseInsensitive does for a signed-in machine.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { describeRun, listFiles, strata, writeTree } from '../testkit.js';

describe('strata sync --once with a held mass delete', () => {
  let tmp: string;
  let dir: string;
  let sync: (...extra: string[]) => ReturnType<typeof strata>;
  const once = (...extra: string[]) => sync('--once', ...extra);
  const files = Array.from({ length: 20 }, (_, i) => `f${String(i).padStart(2, '0')}.txt`);

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'strata-once-'));
    dir = join(tmp, 'dir');
    const store = pathToFileURL(join(tmp, 'store')).href;
    await writeTree(dir, Object.fromEntries(files.map((f) => [f, `text of ${f}`])));
    const init = await strata(['init', '--store', store]);
    assert.equal(init.code, 0, describeRun(init));
    sync = (...extra) => strata(['sync', dir, '--layer', 'user/alice', '--store', store, '--state-dir', join(tmp, 'state'), ...extra]);
    const first = await once();
    assert.equal(first.code, 0, describeRun(first));
  });
  after(() => rm(tmp, { recursive: true, force: true }));

  const removeMost = async () => {
    for (const f of files.slice(0, 15)) await rm(join(dir, f), { force: true });
  };

  it('holds: exit 3, nothing changed, and says how to answer', async () => {
    await removeMost();
    const r = await once();
    assert.equal(r.code, 3, describeRun(r));
    assert.match(r.stdout, /^held: this pass would delete 15 of 20 files \(local\); nothing was changed\n.*--deletes confirm.*--deletes restore/);
    assert.deepEqual(await listFiles(dir), files.slice(15));
  });

  it('--deletes restore puts the files back', async () => {
    const r = await once('--deletes', 'restore');
    assert.equal(r.code, 0, describeRun(r));
    assert.match(r.stdout, /^in sync: /);
    assert.deepEqual(await listFiles(dir), files);
    assert.equal((await once()).code, 0, 'nothing left to hold');
  });

  it('--deletes confirm deletes them', async () => {
    await removeMost();
    assert.equal((await once()).code, 3);
    const r = await once('--deletes', 'confirm');
    assert.equal(r.code, 0, describeRun(r));
    assert.deepEqual(await listFiles(dir), files.slice(15));
  });

  it('a wrong --deletes, or one without --once, is bad usage', async () => {
    const wrong = await once('--deletes', 'maybe');
    assert.equal(wrong.code, 2, describeRun(wrong));
    assert.match(wrong.stderr, /--deletes must be "confirm" or "restore"/);
    const agent = await sync('--deletes', 'confirm');
    assert.equal(agent.code, 2, describeRun(agent));
    assert.match(agent.stderr, /--deletes goes with --once/);
  });
});

describe('strata sync --case-insensitive', { skip: process.platform !== 'linux' && 'needs a case-sensitive disk' }, () => {
  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'strata-case-'));
  });
  after(() => rm(tmp, { recursive: true, force: true }));

  it('keeps one of two names that differ only in case, the other beside it as a conflict copy, as a Windows or macOS disk would; without it both go up', async () => {
    const store = pathToFileURL(join(tmp, 'store')).href;
    assert.equal((await strata(['init', '--store', store])).code, 0);
    for (const [layer, flag] of [['user/folded', ['--case-insensitive']], ['user/both', []]] as const) {
      const dir = join(tmp, layer);
      await writeTree(dir, { 'notes.txt': 'lower', 'NOTES.txt': 'upper' });
      const r = await strata(['sync', dir, '--layer', layer, '--store', store, '--state-dir', join(dir, '..', `${layer.slice(5)}-state`), '--once', '--json', ...flag]);
      assert.equal(r.code, 0, describeRun(r));
      const ls = await strata(['ls', '--layer', layer, '--store', store, '--json']);
      assert.equal(ls.code, 0, describeRun(ls));
      const names = (JSON.parse(ls.stdout) as { entries: { path: string }[] }).entries.map((e) => e.path);
      const conflicts = (JSON.parse(r.stdout) as { conflicts: unknown[] }).conflicts;
      if (flag.length > 0) {
        assert.equal(names.filter((p) => p.toLowerCase() === 'notes.txt').length, 1, JSON.stringify(names));
        assert.equal(names.filter((p) => p.includes('.sync-conflict-')).length, 1, JSON.stringify(names));
        assert.equal(conflicts.length, 1);
      } else {
        assert.deepEqual(names.sort(), ['NOTES.txt', 'notes.txt'], 'as the Linux disk has them');
      }
    }
  });

  it('is in the help of strata sync', async () => {
    const r = await strata(['sync', '--help']);
    assert.match(r.stdout, /--case-insensitive\s+.*case/);
  });
});
