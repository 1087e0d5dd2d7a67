import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildRows, formatTable, type Row } from './report.js';
import type { ScenarioResults } from './scenario.js';

const MiB = 1024 * 1024;

function scenario(over: Partial<ScenarioResults['tools']> = {}): ScenarioResults {
  return {
    cache: 'cold',
    present: { files: 80, bytes: 80 * MiB, absentFiles: 20, absentBytes: 20 * MiB },
    edit: { file: 'data/profile.sqlite', fileSize: 512 * MiB, offset: 0, bytes: MiB },
    tools: {
      strata: {
        version: 's',
        phases: {
          upload: { seconds: 10, bytesUploaded: 100 * MiB, requests: { gets: 2, puts: 30 } },
          restore: { seconds: 5, problems: [] },
          restorePresent: { seconds: 2, bytesDownloaded: 20 * MiB, bytesSeeded: 80 * MiB, problems: [] },
          incremental: { seconds: 1, bytesUploaded: 2 * MiB },
        },
      },
      rclone: { version: 'r', phases: { upload: { seconds: 20 }, restore: { seconds: 10, problems: ['x: content differs'] } } },
      restic: { version: 'q', phases: { upload: { error: 'E_BENCH_TOOL boom' } } },
      ...over,
    },
    strataSmallFiles: { files: 10_000, bytes: 40 * MiB, seconds: 3, requests: { gets: 150 }, problems: [] },
  };
}

const row = (rows: Row[], label: string): Row => {
  const r = rows.find((x) => x.label === label);
  assert.ok(r, `no row ${label}`);
  return r;
};

describe('bench report', () => {
  const rows = buildRows({ corpusBytes: 100 * MiB, chunkHashMBps: 700, scenario: scenario() });

  it('gives Strata ÷ peer ratios and marks failed phases', () => {
    const upload = row(rows, 'initial upload');
    assert.equal(upload.vsRclone, '0.50×');
    assert.equal(upload.vsRestic, undefined);
    assert.equal(upload.values.restic, 'failed');
  });

  it('flags a wrong restore and leaves it out of the ratio', () => {
    const restore = row(rows, 'full restore, empty dir');
    assert.match(restore.values.rclone ?? '', /WRONG/);
    assert.equal(restore.vsRclone, undefined);
    assert.equal(row(rows, 'restores match the corpus (all tools)').ok, false);
  });

  it('checks each target', () => {
    assert.equal(row(rows, '  Strata downloaded ÷ layer size').ok, true);
    assert.equal(rows.find((r) => r.target === '≤ 3 MiB')?.ok, true);
    assert.equal(row(rows, 'chunk+hash, one thread').ok, true);
    assert.equal(row(rows, '  GETs per 100 files').ok, false, '150 GETs for 10,000 files is 1.5 per 100');
    const slow = buildRows({ corpusBytes: 50 * MiB, chunkHashMBps: undefined, scenario: scenario() });
    assert.equal(row(slow, 'chunk+hash, one thread').ok, false);
    assert.equal(row(slow, '  Strata downloaded ÷ layer size').ok, false, '20 MiB of 50 MiB is 40%');
  });

  it('prints aligned columns with ✓ and ✗', () => {
    const text = formatTable(rows);
    const lines = text.split('\n');
    assert.match(lines[0] ?? '', /^figure\s+strata\s+rclone\s+restic/);
    assert.ok(text.includes('✓') && text.includes('✗'));
    const col = (lines[0] ?? '').indexOf('rclone');
    assert.equal(lines[2]?.indexOf('20.00 s'), col);
  });
});
