import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBytes, formatDuration, formatMode } from './format.js';
import { ProgressBar, renderProgress } from './progress.js';

describe('renderProgress', () => {
  it('shows files, bytes, rate and ETA when the total is known', () => {
    const state = { files: 3, totalFiles: 10, bytes: 1024 * 1024, totalBytes: 4 * 1024 * 1024 };
    assert.equal(renderProgress('restore', state, 2, 120), 'restore  [#####...............]  25%  3/10 files  1.00 MiB/4.00 MiB  512 KiB/s  ETA 6s');
    assert.equal(renderProgress('restore', state, 2, 80), 'restore  25%  3/10 files  1.00 MiB/4.00 MiB  512 KiB/s  ETA 6s', 'the bar goes first');
  });

  it('has no bar or ETA without a total, and counts other units', () => {
    assert.equal(renderProgress('snapshot', { files: 7, bytes: 2048 }, 0), 'snapshot  7 files  2.00 KiB  0 B/s');
    assert.equal(renderProgress('check', { phase: 'data', files: 1, totalFiles: 4, unit: 'packs' }, 1), 'check (data)  [#####...............]  25%  1/4 packs  ETA 3s');
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
    assert.equal(formatBytes(1536), '1.50 KiB');
    assert.equal(formatBytes(200 * 1024 * 1024), '200 MiB');
    assert.equal(formatDuration(185), '3m05s');
    assert.equal(formatDuration(Infinity), '?');
    assert.equal(formatMode('file', 0o644), '-rw-r--r--');
    assert.equal(formatMode('dir', 0o755), 'drwxr-xr-x');
    assert.equal(formatMode('symlink', undefined), 'lrwxrwxrwx');
  });
});
