import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SUPPRESS_MS, Suppressions } from './sample.js';

const file = (size: number) => ({ kind: 'file' as const, size, mtimeMs: 1000, ctimeMs: 1000 });

test('the engine\'s writes are recognised while their events can come, and then forgotten: months of writes keep only the last few minutes\' in memory', () => {
  let now = 0;
  const s = new Suppressions(() => now);
  // Ten hours of the engine writing (and deleting) a file of another name every 3.6 s, as a log
  // rotated on another machine arrives; the watcher samples each soon after.
  for (let i = 0; i < 10_000; i++) {
    now += 3_600;
    s.set(`logs/app-${i}.log`, i % 2 === 0 ? { size: i, mtimeMs: 1000, ctimeMs: 1000 } : null);
    assert.equal(s.matches(`logs/app-${i}.log`, i % 2 === 0 ? file(i) : null), true);
  }
  assert.ok(s.size <= SUPPRESS_MS / 3_600 + 1, `${s.size} suppressions kept`);
  // One more batch of events of the last write, a little later: still the engine's.
  now += 1_000;
  assert.equal(s.matches('logs/app-9998.log', file(9998)), true);
  // Long after, none is kept.
  now += SUPPRESS_MS;
  assert.equal(s.matches('logs/app-9998.log', file(9998)), false);
  assert.equal(s.size, 0);
});
