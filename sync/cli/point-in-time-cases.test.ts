// Point in time as a user who lost work tries it (issue #5 item 4): links, another device's
// snapshot, names with spaces and accents, paths and ids that name nothing, and log's JSON.
import assert from 'node:assert/strict';
import { lstat, mkdtemp, readFile, readlink, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describeRun, strata, writeTree } from './testkit.js';

describe('strata restore --path: the cases a user runs into', () => {
  let tmp: string;
  let work: string;
  let store: string;
  let first: string;
  let latest: string;
  const cli = (...args: string[]) => strata(['--store', store, '--device', 'laptop', ...args]);
  const SPACED = 'Mes documents/rapport d’été ü.txt';

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'strata-pit-cases-'));
    work = join(tmp, 'work');
    store = pathToFileURL(join(tmp, 'store')).href;
    await writeTree(work, { 'notes.txt': 'notes 1', ln: { link: 'notes.txt' }, 'Mes documents': { 'rapport d’été ü.txt': 'été 1' } });
    assert.equal((await cli('init')).code, 0);
    // The first snapshot is another device's: the layer is one, whoever wrote it.
    first = JSON.parse((await strata(['--store', store, '--device', 'desktop', 'snapshot', work, '--layer', 'user/alice', '--json'])).stdout).snapshot;
    await rm(join(work, 'ln'));
    await writeTree(work, { ln: { link: 'elsewhere.txt' }, 'notes.txt': 'notes 2', 'Mes documents': { 'rapport d’été ü.txt': 'été 2' } });
    latest = JSON.parse((await cli('snapshot', work, '--layer', 'user/alice', '--json')).stdout).snapshot;
  });
  after(() => rm(tmp, { recursive: true, force: true }));

  it("restores from another device's snapshot, in place", async () => {
    const r = await cli('restore', work, '--layer', 'user/alice', '--snapshot', first.slice(0, 8), '--path', 'notes.txt', '--json');
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(await readFile(join(work, 'notes.txt'), 'utf8'), 'notes 1');
    assert.deepEqual(JSON.parse(r.stdout).movedAside, [], 'notes 2 is in the latest snapshot');
    await writeFile(join(work, 'notes.txt'), 'notes 2');
  });

  it('restores a link in place (as a link, never followed) and beside', async () => {
    const r = await cli('restore', work, '--layer', 'user/alice', '--snapshot', first, '--path', 'ln', '--json');
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(await readlink(join(work, 'ln')), 'notes.txt');
    assert.equal(JSON.parse(r.stdout).symlinks, 1);
    const beside = await cli('restore', work, '--layer', 'user/alice', '--snapshot', latest, '--path', 'ln', '--beside', '--json');
    assert.equal(beside.code, 0, describeRun(beside));
    const placed = JSON.parse(beside.stdout).restoredAs as string;
    assert.match(placed, /^ln\.restored-\d{8}-\d{6}$/);
    assert.ok((await lstat(join(work, placed))).isSymbolicLink());
    assert.equal(await readlink(join(work, placed)), 'elsewhere.txt');
    assert.equal(await readlink(join(work, 'ln')), 'notes.txt', 'the current link is left as it is');
  });

  it('restores a name with spaces and accents, given layer-relative or absolute, in place and beside', async () => {
    const r = await cli('restore', work, '--layer', 'user/alice', '--snapshot', first, '--path', join(work, SPACED));
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(await readFile(join(work, SPACED), 'utf8'), 'été 1');
    assert.match(r.stdout, /^restored Mes documents\/rapport d’été ü\.txt of snapshot /);
    const beside = await cli('restore', work, '--layer', 'user/alice', '--snapshot', latest, '--path', SPACED, '--beside', '--json');
    assert.equal(beside.code, 0, describeRun(beside));
    const placed = JSON.parse(beside.stdout).restoredAs as string;
    assert.match(placed, /^Mes documents\/rapport d’été ü\.restored-\d{8}-\d{6}\.txt$/);
    assert.equal(await readFile(join(work, placed), 'utf8'), 'été 2');
  });

  it('a path the snapshot lacks, in place: one line naming it, exit 1, nothing changed', async () => {
    const before = await readdir(work);
    const r = await cli('restore', work, '--layer', 'user/alice', '--snapshot', first, '--path', 'Mes documents/gone.txt');
    assert.equal(r.code, 1, describeRun(r));
    assert.match(r.stderr, /^strata: E_NOT_IN_SNAPSHOT Mes documents\/gone\.txt: no such path in the snapshot\n$/);
    assert.deepEqual(await readdir(work), before);
  });

  it('an unknown or ambiguous snapshot prefix: one line, exit 1; a malformed one: usage, exit 2', async () => {
    const unknown = first.startsWith('00000000') ? 'ffffffff' : '00000000';
    for (const cmd of [['restore', work, '--path', 'notes.txt', '--beside'], ['ls']]) {
      const r = await cli(...cmd, '--layer', 'user/alice', '--snapshot', unknown);
      assert.equal(r.code, 1, describeRun(r));
      assert.match(r.stderr, new RegExp(`^strata: E_SNAPSHOT_NOT_FOUND \\S+: no snapshot of user/alice starts with ${unknown}\\n$`));
    }
    // A second key sharing the first's 8-digit prefix (ids that close are rare, not impossible).
    const twin = `${first.slice(0, 8)}${'0'.repeat(first.length - 8)}`;
    const snapshots = join(fileURLToPath(store), 'layers/user/alice/snapshots');
    await writeFile(join(snapshots, twin), await readFile(join(snapshots, first)));
    try {
      const r = await cli('restore', work, '--layer', 'user/alice', '--snapshot', first.slice(0, 8), '--path', 'notes.txt');
      assert.equal(r.code, 1, describeRun(r));
      assert.match(r.stderr, new RegExp(`^strata: E_SNAPSHOT_AMBIGUOUS \\S+: 2 snapshots of user/alice start with ${first.slice(0, 8)}; give more digits\\n$`));
      const longer = await cli('restore', work, '--layer', 'user/alice', '--snapshot', first.slice(0, 12), '--path', 'notes.txt');
      assert.equal(longer.code, 0, describeRun(longer));
    } finally {
      await rm(join(snapshots, twin));
    }
    const bad = await cli('restore', work, '--layer', 'user/alice', '--snapshot', '1234567', '--path', 'notes.txt');
    assert.equal(bad.code, 2, describeRun(bad));
    assert.match(bad.stderr, /^strata: E_USAGE --snapshot "1234567" is not a snapshot id or a prefix of at least 8 hex digits/);
  });

  it('log --json: each snapshot with its id, time, device, counts, parents and heads; the heads', async () => {
    const r = await cli('log', '--layer', 'user/alice', '--json');
    assert.equal(r.code, 0, describeRun(r));
    const out = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(out), ['layer', 'snapshots', 'heads']);
    assert.deepEqual(out.snapshots.map((s: { id: string; device: string }) => [s.id, s.device]), [[latest, 'laptop'], [first, 'desktop']]);
    const [newest] = out.snapshots;
    assert.deepEqual(Object.keys(newest).sort(), ['bytes', 'device', 'dirs', 'files', 'heads', 'id', 'parents', 'parentsGone', 'time']);
    assert.equal(typeof newest.time, 'string');
    assert.equal(newest.files, 2);
    assert.deepEqual(newest.heads, ['laptop']);
    assert.deepEqual(out.heads.map((h: { device: string; snapshot: string }) => [h.device, h.snapshot]).sort(), [['desktop', first], ['laptop', latest]]);
  });

  it('log <path> lists the snapshots that changed it, newest first, with what each did there', async () => {
    const src = join(tmp, 'history');
    const snap = async (spec: Parameters<typeof writeTree>[1], gone?: string) => {
      if (gone !== undefined) await rm(join(src, gone));
      await writeTree(src, spec);
      return JSON.parse((await cli('snapshot', src, '--layer', 'user/hist', '--json')).stdout).snapshot as string;
    };
    const s1 = await snap({ 'a.txt': 'one', docs: { 'b.txt': 'b' } });
    const s2 = await snap({ 'a.txt': 'two!' });
    const s3 = await snap({ docs: { 'b.txt': 'b, changed' } });
    const s4 = await snap({}, 'a.txt');
    const s5 = await snap({ 'a.txt': 'one' });
    const changes = async (path: string) => {
      const r = await cli('log', '--layer', 'user/hist', path, '--json');
      assert.equal(r.code, 0, describeRun(r));
      const out = JSON.parse(r.stdout);
      assert.equal(out.path, path.replace(/\/$/, ''));
      return out.snapshots.map((s: { id: string; change: string; entry: { size: number | null } | null }) => [s.id, s.change, s.entry?.size ?? null]);
    };
    assert.deepEqual(await changes('a.txt'), [[s5, 'added', 3], [s4, 'deleted', null], [s2, 'changed', 4], [s1, 'added', 3]]);
    assert.deepEqual(await changes('docs/'), [[s3, 'changed', null], [s1, 'added', null]]);
    const text = await cli('log', '--layer', 'user/hist', 'docs/b.txt');
    assert.equal(text.code, 0, describeRun(text));
    const lines = text.stdout.trimEnd().split('\n');
    assert.match(lines[0] as string, /^ID +TIME +DEVICE +CHANGE +SIZE +HEADS$/);
    assert.equal(lines.length, 3, text.stdout);
    assert.match(lines[1] as string, new RegExp(`^${s3.slice(0, 12)} +\\S+ +laptop +changed +10 B$`));
    assert.match(lines[2] as string, new RegExp(`^${s1.slice(0, 12)} +\\S+ +laptop +added +1 B$`));
    const none = await cli('log', '--layer', 'user/hist', 'never.txt');
    assert.equal(none.code, 0, describeRun(none));
    assert.equal(none.stdout, 'no snapshot of user/hist has never.txt\n');
    assert.equal((await cli('log', '--layer', 'user/hist', '../x')).code, 2);
  });
});
