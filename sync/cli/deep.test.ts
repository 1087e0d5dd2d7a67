// `strata restore` of a layer holding paths too long for the target (past PATH_MAX: snapshotted
// from a folder higher up): the rest is restored, each path left out is named, and the exit is 4.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { pastPathMax } from '../testing/deep-tree.js';
import { describeRun, strata, writeTree } from './testkit.js';

const linuxOnly = { skip: process.platform !== 'linux' && 'PATH_MAX of 4,096 bytes is Linux' };

it('restore lays what fits, names each path too long for the target on one line, and exits 4', linuxOnly, async (t) => {
  const tmp = await mkdtemp(join(tmpdir(), 'strata-cli-deep-'));
  const src = join(tmp, 'src');
  await writeTree(src, { 'top.txt': 'top' });
  const tree = await pastPathMax(join(src, 't'), 14);
  // In this order (t.after runs them so): rm reaches into the tree once its names are short again.
  t.after(() => tree.undo());
  t.after(() => rm(tmp, { recursive: true, force: true }));
  const store = pathToFileURL(join(tmp, 'store')).href;
  const cli = (...args: string[]) => strata(['--store', store, '--device', 'dev', ...args]);
  assert.equal((await cli('init')).code, 0);
  const snap = await cli('snapshot', src, '--layer', 'user/deep');
  assert.equal(snap.code, 0, describeRun(snap));

  const far = join(tmp, 'x'.repeat(250), 'x'.repeat(250), 'x'.repeat(250), 'out');
  const r = await cli('restore', far, '--layer', 'user/deep');
  assert.equal(r.code, 4, describeRun(r));
  assert.match(r.stdout, /^restored snapshot /, describeRun(r));
  const warnings = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(warnings.length, 1, describeRun(r));
  assert.match(warnings[0]!, /^strata: warning: E_PATH_TOO_LONG .*…n+: not restored: its path is longer than this system allows/);
  assert.ok(warnings[0]!.length < 400, 'the path is shortened in the middle');
  assert.equal(await readFile(join(far, 'top.txt'), 'utf8'), 'top');
  assert.equal(await readFile(join(far, 't', tree.dir(1), 'near.txt'), 'utf8'), 'near');

  const json = await cli('restore', far, '--layer', 'user/deep', '--json');
  assert.equal(json.code, 4, describeRun(json));
  const out = JSON.parse(json.stdout) as { tooLong: string[]; files: number };
  assert.equal(out.tooLong.length, 1);
  assert.match(out.tooLong[0]!, /^t\/n{250}\//);
  assert.equal(out.files, 2);
});

it('restore --beside of a path that fits in place but not beside fails on one line naming it, leaving nothing behind', linuxOnly, async (t) => {
  const tmp = await mkdtemp(join(tmpdir(), 'strata-cli-deep-beside-'));
  t.after(() => rm(tmp, { recursive: true, force: true }));
  const work = join(tmp, 'work');
  // 4,066 bytes: laid in place it fits (under 4,096 with a temp beside it); with the temp folder
  // of --beside (30 bytes and more) it does not.
  const dirs = Array.from({ length: 19 }, (_, i) => `${i}`.padEnd(200, 'd'));
  const name = 'f'.repeat(4066 - work.length - dirs.length * 201 - 1 - 4) + '.txt';
  const only = [...dirs, name].join('/');
  assert.equal(Buffer.byteLength(join(work, only)), 4066);
  await mkdir(join(work, ...dirs), { recursive: true });
  await writeFile(join(work, only), 'deep');
  const store = pathToFileURL(join(tmp, 'store')).href;
  const cli = (...args: string[]) => strata(['--store', store, '--device', 'dev', ...args]);
  assert.equal((await cli('init')).code, 0);
  const snap = await cli('snapshot', work, '--layer', 'user/deep');
  assert.equal(snap.code, 0, describeRun(snap));

  const r = await cli('restore', work, '--layer', 'user/deep', '--path', only, '--beside');
  assert.equal(r.code, 1, describeRun(r));
  assert.match(r.stderr, /^strata: E_PATH_TOO_LONG .*…f+\.txt: not restored beside: [^\n]*\n$/, describeRun(r));
  assert.deepEqual(await readdir(work), [dirs[0]], 'no temp folder is left');
  assert.deepEqual(await readdir(join(work, ...dirs)), [name]);
});
