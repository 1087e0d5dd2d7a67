import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBytes, formatMode } from './format.js';
import { ProgressBar, renderProgress } from './progress.js';

describe('renderProgress', () => {
  it('shows files, bytes, rate and the time left when the total is known', () => {
    const state = { files: 3, totalFiles: 10, bytes: 1024 * 1024, totalBytes: 4 * 1024 * 1024 };
    assert.equal(renderProgress('restore', state, 2, 120), 'restore  [#####...............]  25%  3/10 files  1.0 MiB/4.0 MiB  512.0 KiB/s  6 s left');
    assert.equal(renderProgress('restore', state, 2, 80), 'restore  25%  3/10 files  1.0 MiB/4.0 MiB  512.0 KiB/s  6 s left', 'the bar goes first');
  });

  it('has no bar or time left without a total, and counts other units', () => {
    assert.equal(renderProgress('snapshot', { files: 7, bytes: 2048 }, 0), 'snapshot  7 files  2.0 KiB  0 B/s');
    assert.equal(renderProgress('check', { phase: 'data', files: 1, totalFiles: 4, unit: 'packs' }, 1), 'check (data)  [#####...............]  25%  1/4 packs  3 s left');
  });

  it('says no time left once all is done, and a time left as the status says it', () => {
    const done = { files: 10, totalFiles: 10, bytes: 4 * 1024 * 1024, totalBytes: 4 * 1024 * 1024 };
    assert.equal(renderProgress('restore', done, 2, 120), 'restore  [####################]  100%  10/10 files  4.0 MiB/4.0 MiB  2.0 MiB/s');
    const slow = { files: 1, totalFiles: 10, bytes: 1024, totalBytes: 186 * 1024 };
    assert.equal(renderProgress('restore', slow, 1, 120), 'restore  [....................]  0%  1/10 files  1.0 KiB/186.0 KiB  1.0 KiB/s  4 min left');
  });

  it('never exceeds the terminal width', () => {
    assert.ok(renderProgress('restore', { files: 1, totalFiles: 2, bytes: 1, totalBytes: 2 }, 1, 30).length < 30);
  });
});

describe('ProgressBar', () => {
  it('redraws at most once per interval and erases its line at the end', () => {
    let now = 0;
    const writes: string[] = [];
    const bar = new ProgressBar({ write: (s) => writes.push(s), columns: 80 }, 'x', () => now, 100);
    bar.update({ files: 1 });
    now = 50;
    bar.update({ files: 2 });
    now = 150;
    bar.update({ files: 3 });
    assert.equal(writes.length, 2);
    assert.match(writes[1] as string, /3 files/);
    bar.done();
    bar.done();
    assert.equal(writes.length, 3);
    assert.equal(writes[2], '\r\x1b[2K');
  });
});

describe('format', () => {
  it('formats bytes, durations and modes', () => {
    assert.equal(formatBytes(1023), '1023 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(200 * 1024 * 1024), '200.0 MiB');
    assert.equal(formatMode('file', 0o644), '-rw-r--r--');
    assert.equal(formatMode('dir', 0o755), 'drwxr-xr-x');
    assert.equal(formatMode('symlink', undefined), 'lrwxrwxrwx');
  });
});
