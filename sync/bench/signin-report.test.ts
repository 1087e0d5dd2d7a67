import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatSignInTable, ratioText, signInRows, type SignInRow } from './signin-report.js';
import type { CaseRecord, SignInResults } from './signin-results.js';

const MiB = 1024 * 1024;

function caseRecord(readySeconds: number, seconds: number, problems: string[] = []): CaseRecord {
  const t = { files: 100, bytes: 100 * MiB, bytesDownloaded: 20 * MiB, bytesSeeded: 30 * MiB, bytesReused: 50 * MiB };
  return { present: { files: 80, bytes: 80 * MiB }, readySeconds, seconds, ready: t, done: t, store: { readyGets: 1, readyFetched: 1, gets: 2, fetched: 20 * MiB }, chunked: { ready: { files: 1, bytes: 1, busyMs: 1 }, done: { files: 2, bytes: 2, busyMs: 2 } }, breakdown: { open: 0.25 }, problems };
}

function results(over: Partial<SignInResults> = {}): SignInResults {
  return {
    cache: 'cold',
    corpus: { seed: 1, files: 100, bytes: 100 * MiB, roles: { config: { files: 90, bytes: MiB } }, hotPaths: ['.config/'], smallFileBytes: MiB, readySet: { files: 95, bytes: 20 * MiB } },
    strata: { version: 'x' },
    cases: { empty: caseRecord(2, 9), golden: caseRecord(3, 5) },
    restic: { version: 'r', seconds: 10, problems: [] },
    rclone: { version: 'c', seconds: 8, problems: [] },
    ...over,
  };
}

const find = (rows: SignInRow[], label: string, nth = 0): SignInRow => rows.filter((r) => r.label === label)[nth] as SignInRow;

describe('sign-in table', () => {
  it('gives ratios with ✓ below the limit and ✗ at or above it', () => {
    assert.equal(ratioText(2, 10, 0.25), '0.20× ✓');
    assert.equal(ratioText(2.5, 10, 0.25), '0.25× ✗');
    assert.equal(ratioText(3, 10), '0.30×');
    assert.equal(ratioText(undefined, 10, 0.25), '');
    assert.equal(ratioText(1, 0, 0.25), '');
  });

  it('compares each case with restic and rclone, against the 25% target', () => {
    const rows = signInRows(results());
    const vsRestic = find(rows, '  ÷ restic full restore');
    assert.deepEqual([vsRestic.empty, vsRestic.golden, vsRestic.target], ['0.20× ✓', '0.30× ✗', '< 25%']);
    assert.deepEqual([find(rows, '  ÷ rclone full copy').empty, find(rows, '  ÷ restic full restore', 1).golden], ['0.25×', '0.50×']);
    assert.equal(find(rows, 'in all: downloaded / seeded / reused').empty, '20.0 MiB / 30.0 MiB / 50.0 MiB');
    assert.equal(find(rows, 'Strata result matches the layer').golden, '✓');
    assert.equal(find(rows, 'ready set written from memory (file-system floor)').empty, 'not run');
    const floored = signInRows(results({ floor: { seconds: 1.5, files: 95, bytes: 20 * MiB } }));
    assert.equal(find(floored, 'ready set written from memory (file-system floor)').empty, '1.50 s');
    assert.equal(find(floored, '  floor ÷ restic full restore').empty, '0.15×');
  });

  it('never turns a wrong restore into a ratio: Strata WRONG, or a WRONG baseline', () => {
    const rows = signInRows(results({ cases: { empty: caseRecord(2, 9, ['a.txt: content differs']) }, restic: { version: 'r', seconds: 10, problems: ['x missing'] } }));
    assert.equal(find(rows, 'Strata time to ready (hot + small)').empty, '2.00 s WRONG');
    assert.equal(find(rows, '  ÷ rclone full copy').empty, '');
    assert.equal(find(rows, 'restic restore, full, empty dir (baseline)').empty, '10.00 s WRONG');
    assert.match(find(rows, 'Strata result matches the layer').empty, /^WRONG: a.txt/);
    assert.equal(find(rows, 'Strata time to ready (hot + small)').golden, '');
  });

  it('gives no ratio at all when the peers were not timed (--only strata)', () => {
    const rows = signInRows(results({ restic: undefined, rclone: undefined, floor: { seconds: 1.5, files: 95, bytes: 20 * MiB } }));
    assert.equal(find(rows, 'restic restore, full, empty dir (baseline)').empty, 'not run');
    for (const label of ['  ÷ restic full restore', '  ÷ rclone full copy', '  floor ÷ restic full restore']) {
      for (const row of rows.filter((r) => r.label === label)) assert.deepEqual([row.empty, row.golden], ['', ''], label);
    }
    assert.equal(find(rows, 'Strata time to ready (hot + small)').golden, '3.00 s');
  });

  it('shows failures as failed', () => {
    const rows = signInRows(results({ cases: { golden: { present: { files: 0, bytes: 0 }, error: 'boom' } }, rclone: { version: 'c', error: 'no' } }));
    assert.equal(find(rows, 'Strata time to ready (hot + small)').golden, 'failed');
    assert.equal(find(rows, 'rclone copy, full, empty dir (baseline)').empty, 'failed');
  });

  it('prints a heading with the corpus and ready set, then aligned columns', () => {
    const text = formatSignInTable(results());
    const lines = text.split('\n');
    assert.match(lines[0] as string, /^sign-in: 100 files, 100\.0 MiB \(90 configs 1\.0 MiB\); page cache cold$/);
    assert.match(lines[1] as string, /\.config\/.*95 files, 20\.0 MiB/);
    const header = lines[3] as string;
    const ready = lines.find((l) => l.startsWith('Strata time to ready')) as string;
    assert.equal(ready.indexOf('2.00 s'), header.indexOf('empty machine'));
    assert.equal(ready.indexOf('3.00 s'), header.indexOf('golden image'));
  });
});
