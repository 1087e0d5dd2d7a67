import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isStrataError } from '../errors.js';
import { DEFAULT_SIZE_MIB, parseOptions } from './options.js';

describe('bench options', () => {
  it('defaults to 1 GiB, seed 1, all tools', () => {
    const o = parseOptions([]);
    assert.equal(o.sizeMiB, DEFAULT_SIZE_MIB);
    assert.equal(o.seed, 1);
    assert.deepEqual(o.only, ['strata', 'rclone', 'restic']);
    assert.equal(o.keep, false);
  });

  it('reads the size from BENCH_SIZE_MB, and --size wins over it', () => {
    assert.equal(parseOptions([], { BENCH_SIZE_MB: '128' }).sizeMiB, 128);
    assert.equal(parseOptions(['--size', '64'], { BENCH_SIZE_MB: '128' }).sizeMiB, 64);
    assert.equal(parseOptions(['--size=32']).sizeMiB, 32);
  });

  it('keeps the tool order fixed whatever order --only lists them in', () => {
    assert.deepEqual(parseOptions(['--only', 'restic,strata']).only, ['strata', 'restic']);
  });

  it('parses the flags', () => {
    const o = parseOptions(['--seed', '7', '--keep', '--out', 'r.json', '--warm']);
    assert.deepEqual([o.seed, o.keep, o.out, o.warm], [7, true, 'r.json', true]);
  });

  it('runs every section by default, and --sections or --only-sync picks some', () => {
    assert.deepEqual(parseOptions([]).sections, ['repo', 'sync', 'signin']);
    assert.deepEqual(parseOptions(['--sections', 'signin,sync,repo']).sections, ['repo', 'sync', 'signin']);
    assert.deepEqual(parseOptions(['--sections', 'signin']).sections, ['signin']);
    assert.deepEqual(parseOptions(['--only-sync']).sections, ['sync']);
    assert.equal(parseOptions([]).syncFiles, 100_000);
    assert.equal(parseOptions(['--sync-files', '2000']).syncFiles, 2000);
    assert.equal(parseOptions([]).signinFiles, 20_000);
    assert.equal(parseOptions(['--signin-files', '500']).signinFiles, 500);
  });

  for (const bad of [['--size', 'x'], ['--size', '2'], ['--only', 'borg'], ['--only'], ['--out'], ['--frobnicate'], ['--sections', 'live'], ['--sections'], ['--sync-files', '10'], ['--signin-files', '0']]) {
    it(`refuses ${bad.join(' ')} with E_BENCH_USAGE`, () => {
      assert.throws(() => parseOptions(bad), (err) => isStrataError(err, 'E_BENCH_USAGE'));
    });
  }
});
