import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IdleRecord, LiveResults } from './live.js';
import { liveNotes, liveRows, median } from './live-report.js';
import { formatTable, type Row } from './report.js';

const idle = (rssMB: number, cpuPercent: number): IdleRecord => ({
  seconds: 20,
  samples: 21,
  rssBytes: { mean: rssMB * 1e6, max: rssMB * 1e6, last: rssMB * 1e6 },
  cpuSeconds: (cpuPercent / 100) * 20,
  cpuPercent,
  memory: { VmHWM: 2 * rssMB * 1e6 },
  inotifyWatches: 101_011,
});

function results(over: Partial<LiveResults> = {}): LiveResults {
  return {
    files: 100_000,
    dirs: 1010,
    bytes: 170e6,
    trials: 3,
    inotify: { maxUserWatches: 192_536, needed: 101_011, enough: true },
    latency: { small: { bytes: 1100, seconds: [1.2, 2.0, 1.5], failures: [] }, large: { bytes: 4 * 1024 * 1024, seconds: [2.5, 3.4], failures: ['did not arrive'] } },
    initialSync: { seconds: 80, files: 100_000, load: [0.5, 1.9] },
    idleAfterUpload: idle(400, 3),
    startup: { seconds: 6.5, files: 100_000, load: [1.2, 1.04] },
    idle: idle(150, 0.2),
    errors: {},
    ...over,
  };
}

const find = (rows: Row[], start: string): Row => {
  const r = rows.find((x) => x.label.startsWith(start));
  assert.ok(r, `no row starting ${start}`);
  return r;
};

describe('bench: live-sync report', () => {
  it('takes the median of odd and even counts', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([]), undefined);
  });

  it('judges latency on every save: a slow or lost save misses the target', () => {
    const rows = liveRows(results());
    const small = find(rows, 'save on A → complete on B (1,100 B)');
    assert.equal(small.values.strata, 'median 1.50 s, max 2.00 s (3 saves)');
    assert.equal(small.ok, true);
    const large = find(rows, 'save on A → complete on B (4 MiB)');
    assert.match(large.values.strata ?? '', /1 did not arrive/);
    assert.equal(large.ok, false);
  });

  it('judges the idle agent after start-up, and only reports the one right after the upload', () => {
    const rows = liveRows(results());
    assert.equal(find(rows, 'idle agent watching 100,000 files: RSS').ok, true);
    assert.equal(find(rows, 'idle agent watching 100,000 files: CPU').ok, true);
    assert.equal(find(rows, '  idle right after it: RSS').ok, undefined);
    assert.equal(find(rows, 'start-up').ok, true);
    assert.equal(find(rows, 'start-up').values.strata, '6.50 s (load 1.2 → 1.0)');
    const heavy = liveRows(results({ idle: idle(250, 1.5), startup: { seconds: 12, files: 100_000, load: [0, 0] } }));
    assert.equal(find(heavy, 'idle agent watching 100,000 files: RSS').ok, false);
    assert.equal(find(heavy, 'idle agent watching 100,000 files: CPU').ok, false);
    assert.equal(find(heavy, 'start-up').ok, false);
  });

  it('shows what could not be measured as failed, with a ✗, and says why in the notes', () => {
    const why = 'fs.inotify.max_user_watches is 8192, below the 101011 watches …';
    const r = results({ inotify: { maxUserWatches: 8192, needed: 101_011, enough: false }, initialSync: undefined, idleAfterUpload: undefined, startup: undefined, idle: undefined, errors: { initialSync: why } });
    const rows = liveRows(r);
    assert.equal(find(rows, 'first sync').values.strata, 'failed');
    assert.equal(find(rows, 'idle agent watching 100,000 files: RSS').values.strata, 'failed');
    assert.equal(find(rows, '  inotify watches').ok, false);
    assert.ok(liveNotes(r).includes(why));
    const table = formatTable(rows);
    assert.ok(table.includes('✗'));
    assert.ok(!table.includes('rclone'), 'columns no row fills are left out');
  });
});
