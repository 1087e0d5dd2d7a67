import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DeleteHistory, MASS_DELETE_WINDOW_MS, massDelete, type DeleteCounts } from './guard.js';

const local = (files: number, of: number): DeleteCounts => ({ remote: { files: 0, of: 100 }, local: { files, of } });
const remote = (files: number, of: number): DeleteCounts => ({ remote: { files, of }, local: { files: 0, of: 100 } });
const T = 1_700_000_000_000;

describe('the mass-delete guard', () => {
  it('holds more than half of the files, at least MASS_DELETE_MIN of them, in one pass', () => {
    const none = new DeleteHistory();
    assert.deepEqual(massDelete(local(11, 20), none, T), { direction: 'local', files: 11, of: 20 });
    assert.equal(massDelete(local(10, 20), none, T), undefined, 'half is not more than half');
    assert.equal(massDelete(local(9, 10), none, T), undefined, 'a small folder tidied up');
    assert.deepEqual(massDelete(remote(15, 20), none, T), { direction: 'remote', files: 15, of: 20 });
  });

  it('counts what went through in the last hour with the pass, per direction', () => {
    const history = new DeleteHistory();
    assert.equal(massDelete(local(8, 20), history, T), undefined);
    history.record(local(8, 20), T);
    // 4 more of the 12 left: 12 of the 20 there were.
    assert.deepEqual(massDelete(local(4, 12), history, T + 60_000), { direction: 'local', files: 12, of: 20 });
    assert.equal(massDelete(remote(4, 12), history, T + 60_000), undefined, 'the other direction counts apart');
    assert.equal(massDelete(local(4, 12), history, T + MASS_DELETE_WINDOW_MS), undefined, 'an hour later the first 8 no longer count');
  });

  it('starts counting again from a confirmation', () => {
    const history = new DeleteHistory();
    history.record(local(8, 20), T);
    history.record(remote(3, 40), T);
    history.record(local(4, 12), T + 1000, 'local');
    assert.equal(massDelete(local(4, 8), history, T + 2000), undefined, 'the confirmed deletes no longer count');
    assert.deepEqual(massDelete(remote(10, 20), history, T + 2000), { direction: 'remote', files: 13, of: 23 }, 'the other direction still does');
  });

  it('keeps the hour in a file, and forgets it when the file is missing or damaged', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-guard-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'deletes.json');
    assert.equal((await DeleteHistory.load(file)).recent('local', T), 0);
    const history = new DeleteHistory();
    assert.equal(history.record(local(8, 20), T), true);
    assert.equal(history.record(local(0, 12), T), false, 'nothing deleted, nothing to save');
    await history.save(file);
    const back = await DeleteHistory.load(file);
    assert.deepEqual(massDelete(local(4, 12), back, T + 60_000), { direction: 'local', files: 12, of: 20 });
    for (const damaged of ['{"entries": [', '{"entries": [{"at": "soon", "direction": "local", "files": 8}]}', 'null']) {
      await writeFile(file, damaged);
      assert.equal((await DeleteHistory.load(file)).recent('local', T), 0, damaged);
    }
  });
});
