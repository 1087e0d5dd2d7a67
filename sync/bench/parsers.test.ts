import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isStrataError } from '../errors.js';
import { parseRcloneStats } from './rclone.js';
import { parseResticSummary } from './restic.js';
import { parseStrataReport } from './strata.js';
import { toMbPerSecond } from './throughput.js';

describe('tool output parsers', () => {
  it('takes rclone stats from the last JSON log line that has them', () => {
    const log = ['{"level":"info","msg":"Copied (new)"}', 'not json', '{"level":"warning","stats":{"bytes":3000000,"transfers":1}}'].join('\n');
    assert.deepEqual(parseRcloneStats(log), { bytes: 3000000, transfers: 1 });
    assert.deepEqual(parseRcloneStats(''), {});
  });

  it('finds the restic summary after status lines, and fails without one', () => {
    const out = '{"message_type":"status","percent_done":1}\n{"message_type":"summary","data_added":1699119,"total_duration":0.4}\n';
    assert.equal(parseResticSummary(out).data_added, 1699119);
    assert.throws(() => parseResticSummary('{"message_type":"status"}'), (e) => isStrataError(e, 'E_BENCH_TOOL'));
  });

  it('validates the Strata --json report', () => {
    const ok = { files: 1, bytes: 2, bytesUploaded: 3, bytesDownloaded: 0, bytesSeeded: 0, requests: { gets: 1, puts: 2 }, seconds: 0.5 };
    assert.equal(parseStrataReport(JSON.stringify(ok), 'snapshot').bytesUploaded, 3);
    assert.throws(() => parseStrataReport('{"files":1}', 'snapshot'), (e) => isStrataError(e, 'E_BENCH_TOOL'));
    assert.throws(() => parseStrataReport('hello', 'restore'), (e) => isStrataError(e, 'E_BENCH_TOOL'));
  });

  it('reads MB/s from the shapes measureChunkHash may return', () => {
    assert.equal(toMbPerSecond(612), 612);
    assert.equal(toMbPerSecond({ mbPerSecond: 700 }), 700);
    assert.equal(toMbPerSecond({ bytes: 600e6, seconds: 0.5 }), 1200);
    assert.equal(toMbPerSecond({ nothing: 1 }), undefined);
  });
});
