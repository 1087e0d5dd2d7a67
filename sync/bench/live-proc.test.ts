import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { watch } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countInotifyWatches, inotifyWatches, parseCpuTicks, parseStatusKb, sampleProc, summarizeIdle } from './live-proc.js';

const STATUS = 'Name:\tnode\nVmPeak:\t 1200000 kB\nVmHWM:\t  180000 kB\nVmRSS:\t  150000 kB\nRssAnon:\t  120000 kB\n';

describe('bench /proc readers', () => {
  it('reads kB lines of /proc/<pid>/status as bytes', () => {
    assert.equal(parseStatusKb(STATUS, 'VmRSS'), 150000 * 1024);
    assert.equal(parseStatusKb(STATUS, 'VmHWM'), 180000 * 1024);
    assert.equal(parseStatusKb(STATUS, 'VmSwap'), undefined);
  });

  it('adds utime and stime, counting fields after the last parenthesis of the command name', () => {
    // Fields 14 (utime) and 15 (stime) are 250 and 40; the name holds a space and a ')'.
    const stat = '4242 (node (x) y) S 1 4242 4242 0 -1 4194560 9000 0 0 0 250 40 0 0 20 0 11 0 100 1000000 37000';
    assert.equal(parseCpuTicks(stat), 290);
    assert.throws(() => parseCpuTicks('garbage'));
  });

  it('counts the watches of an inotify fdinfo', () => {
    const fdinfo = 'pos:\t0\nflags:\t02004000\nmnt_id:\t15\nino:\t1057\ninotify wd:2 ino:7 sdev:fd00001 mask:fc6 ignored_mask:0\ninotify wd:1 ino:2 sdev:fd00001 mask:fc6 ignored_mask:0\n';
    assert.equal(countInotifyWatches(fdinfo), 2);
    assert.equal(countInotifyWatches('pos:\t0\n'), 0);
  });

  it('summarizes an idle window: RSS mean/max/last and CPU as a share of one core', () => {
    const s = summarizeIdle(
      [
        { at: 0, rssBytes: 100, cpuTicks: 1000 },
        { at: 10_000, rssBytes: 300, cpuTicks: 1010 },
        { at: 20_000, rssBytes: 200, cpuTicks: 1020 },
      ],
      100,
    );
    assert.deepEqual(s.rssBytes, { mean: 200, max: 300, last: 200 });
    assert.equal(s.seconds, 20);
    assert.equal(s.cpuSeconds, 0.2);
    assert.equal(s.cpuPercent, 1);
    assert.throws(() => summarizeIdle([{ at: 0, rssBytes: 1, cpuTicks: 0 }], 100), RangeError);
  });

  it('samples this process and counts the inotify watch it holds', { skip: process.platform !== 'linux' }, async () => {
    const s = await sampleProc(process.pid);
    assert.ok(s.rssBytes > 1e6 && s.cpuTicks > 0);
    const dir = await mkdtemp(join(tmpdir(), 'live-proc-'));
    const before = await inotifyWatches(process.pid);
    const w = watch(dir);
    try {
      assert.equal(await inotifyWatches(process.pid), before + 1);
    } finally {
      w.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
