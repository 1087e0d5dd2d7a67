import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Node } from '../plan/index.js';
import { DeleteHistory, holdId, MASS_DELETE_WINDOW_MS, massDelete, resolvedCopies, type DeleteCounts, type HeldDeletes } from './guard.js';

const local = (files: number, of: number): DeleteCounts => ({ remote: { files: 0, of: 100 }, local: { files, of } });
const remote = (files: number, of: number): DeleteCounts => ({ remote: { files, of }, local: { files: 0, of: 100 } });
const T = 1_700_000_000_000;
/** A hold without its id. */
const counts = (h: HeldDeletes | undefined) => h && { direction: h.direction, files: h.files, of: h.of };

describe('the mass-delete guard', () => {
  it('holds more than half of the files, at least MASS_DELETE_MIN of them, in one pass', () => {
    const none = new DeleteHistory();
    assert.deepEqual(counts(massDelete(local(11, 20), none, T)), { direction: 'local', files: 11, of: 20 });
    assert.equal(massDelete(local(10, 20), none, T), undefined, 'half is not more than half');
    assert.equal(massDelete(local(9, 10), none, T), undefined, 'a small folder tidied up');
    assert.deepEqual(counts(massDelete(remote(15, 20), none, T)), { direction: 'remote', files: 15, of: 20 });
  });

  it('counts what went through in the last hour with the pass, per direction', () => {
    const history = new DeleteHistory();
    assert.equal(massDelete(local(8, 20), history, T), undefined);
    history.record(local(8, 20), T);
    // 4 more of the 12 left: 12 of the 20 there were.
    assert.deepEqual(counts(massDelete(local(4, 12), history, T + 60_000)), { direction: 'local', files: 12, of: 20 });
    assert.equal(massDelete(remote(4, 12), history, T + 60_000), undefined, 'the other direction counts apart');
    assert.equal(massDelete(local(4, 12), history, T + MASS_DELETE_WINDOW_MS), undefined, 'an hour later the first 8 no longer count');
  });

  it('starts counting again from a confirmation', () => {
    const history = new DeleteHistory();
    history.record(local(8, 20), T);
    history.record(remote(3, 40), T);
    history.record(local(4, 12), T + 1000, 'local');
    assert.equal(massDelete(local(4, 8), history, T + 2000), undefined, 'the confirmed deletes no longer count');
    assert.deepEqual(counts(massDelete(remote(10, 20), history, T + 2000)), { direction: 'remote', files: 13, of: 23 }, 'the other direction still does');
  });

  it('keeps what each pass deleted, and from which head, to put back: the direction asked, within the hour, until settled', async (t) => {
    const history = new DeleteHistory();
    const gone = (direction: 'local' | 'remote', paths: string[]): DeleteCounts => ({ ...local(0, 100), [direction]: { files: paths.length, of: 20, paths } });
    history.record(gone('local', ['a.txt', 'b.txt']), T, undefined, 'snap1');
    history.record(gone('remote', ['c.txt']), T + 1000, undefined, 'snap2');
    history.record(gone('local', ['d.txt']), T + 2000);
    assert.deepEqual(history.restorable('local', T + 3000), [{ from: 'snap1', paths: ['a.txt', 'b.txt'] }], 'a pass without its head has nothing to put back');
    assert.deepEqual(history.restorable('remote', T + 3000), [{ from: 'snap2', paths: ['c.txt'] }]);
    const dir = await mkdtemp(join(tmpdir(), 'strata-guard-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'deletes.json');
    await history.save(file);
    assert.deepEqual((await DeleteHistory.load(file)).restorable('local', T + 3000), [{ from: 'snap1', paths: ['a.txt', 'b.txt'] }]);
    await writeFile(file, JSON.stringify({ entries: [{ at: T, direction: 'local', files: 2, from: 'snap1', paths: ['a.txt', 7] }] }));
    const damaged = await DeleteHistory.load(file);
    assert.deepEqual(damaged.restorable('local', T), [], 'damaged paths are not put back');
    assert.equal(damaged.recent('local', T), 2, 'but still count');
    history.record(local(0, 20), T + 4000, 'local');
    assert.deepEqual(history.restorable('local', T + 5000), [], 'settled');
    assert.equal(history.restorable('remote', T + 5000).length, 1);
    assert.deepEqual(history.restorable('remote', T + 1000 + MASS_DELETE_WINDOW_MS), [], 'an hour later');
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
    assert.deepEqual(counts(massDelete(local(4, 12), back, T + 60_000)), { direction: 'local', files: 12, of: 20 });
    for (const damaged of ['{"entries": [', '{"entries": [{"at": "soon", "direction": "local", "files": 8}]}', 'null']) {
      await writeFile(file, damaged);
      assert.equal((await DeleteHistory.load(file)).recent('local', T), 0, damaged);
    }
  });

  it('records a run its journal still held without the deletes of a switch of the org layers, and only once', () => {
    const history = new DeleteHistory();
    const run = { id: 'run1', at: T, from: 'snap1', dropped: ['org1.txt', 'org2.txt'] };
    assert.equal(history.recordRun(run, ['org1.txt', 'mine.txt', 'org2.txt']), true);
    assert.equal(history.recent('remote', T), 1);
    assert.deepEqual(history.restorable('remote', T), [{ from: 'snap1', paths: ['mine.txt'] }]);
    assert.equal(history.recordRun(run, ['org1.txt', 'mine.txt', 'org2.txt']), false, 'recorded already');
    assert.equal(history.recordRun({ ...run, id: 'run2', dropped: ['ok', 3] }, ['x.txt']), false, 'a damaged label records nothing');
  });

  it('takes a conflict copy deleted while its file stays for a resolved conflict; one deleted with its file, or any other file, is not', () => {
    const file: Node = { type: 'file', size: 1, mtimeMs: T, mode: 0o644, content: 'x' };
    const copy = (stem: string) => `${stem}.sync-conflict-20261201-101500-laptop.txt`;
    const stays = new Map<string, Node>([['docs/a.txt', file], ['b.txt', file]]);
    const deleted = [copy('docs/a'), copy('b'), copy('gone'), 'b.txt', 'c.txt'];
    assert.deepEqual([...resolvedCopies(deleted, stays)].sort(), [copy('b'), copy('docs/a')]);
    assert.deepEqual([...resolvedCopies(deleted, new Map())], [], 'the folder deleted with its conflicts');
  });

  it('where names fold, takes a copy whose file kept the name under another spelling for a resolved conflict', () => {
    const file: Node = { type: 'file', size: 1, mtimeMs: T, mode: 0o644, content: 'x' };
    const copy = 'Readme.sync-conflict-20261201-101500-laptop.txt';
    const stays = new Map<string, Node>([['README.txt', file]]);
    assert.deepEqual([...resolvedCopies([copy], stays, true)], [copy]);
    assert.deepEqual([...resolvedCopies([copy], stays)], [], 'names that do not fold are other files');
  });

  it('names a hold by its direction and the paths its pass deletes, in any order', () => {
    const history = new DeleteHistory();
    const held = (direction: 'local' | 'remote', paths: string[]) => massDelete({ ...local(0, 100), [direction]: { files: paths.length, of: 20, paths } }, history, T);
    const twelve = Array.from({ length: 12 }, (_, i) => `f${i}.txt`);
    assert.equal(held('local', twelve)?.id, holdId('local', [...twelve].reverse()));
    assert.notEqual(held('local', twelve)?.id, held('remote', twelve)?.id, 'the other direction is another hold');
    assert.notEqual(held('local', twelve)?.id, held('local', [...twelve.slice(1), 'g.txt'])?.id, 'other files in the same numbers are another hold');
    assert.notEqual(held('local', twelve)?.id, held('local', [...twelve, 'g.txt'])?.id, 'a hold that grew is another hold');
  });
});
