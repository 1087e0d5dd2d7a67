import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseInSyncLine } from './live-agent.js';

describe('bench: strata sync --json lines', () => {
  it('reads an in-sync event', () => {
    const line = JSON.stringify({ event: 'in-sync', root: '/tmp/a', time: '2026-11-22T08:00:00.000Z', files: 12, conflicts: 1 });
    assert.deepEqual(parseInSyncLine(line), { time: '2026-11-22T08:00:00.000Z', files: 12, conflicts: 1 });
  });

  for (const line of ['', 'in sync at 2026-11-22T08:00:00Z: 3 files, 0 conflicts', '{"event":"status"}', '{"event":"in-sync","time":"t","files":"3","conflicts":0}', 'null', '[1]']) {
    it(`ignores ${JSON.stringify(line)}`, () => {
      assert.equal(parseInSyncLine(line), undefined);
    });
  }
});
