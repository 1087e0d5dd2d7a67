import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { EventQueue, maxQueuedEvents } from './queue.js';

describe('EventQueue', () => {
  it('tells every subscriber once of a read that reaches three quarters of the queue, and counts each read from nothing', async () => {
    const q = new EventQueue(8);
    assert.equal(q.threshold, 6);
    const told = [0, 0];
    q.subscribe(() => told[0]!++);
    const stop = q.subscribe(() => told[1]!++);
    for (let i = 0; i < 5; i++) assert.equal(q.take(), true);
    assert.deepEqual(told, [0, 0]);
    q.take();
    for (let i = 0; i < 20; i++) q.take();
    assert.deepEqual(told, [1, 1]);
    await nextTurn();
    // A new read: five more events are not an overflow, however many came before.
    for (let i = 0; i < 5; i++) q.take();
    assert.deepEqual(told, [1, 1]);
    await nextTurn();
    stop();
    for (let i = 0; i < 6; i++) q.take();
    assert.deepEqual(told, [2, 1]);
  });

  it("reads the queue's size from the system, and takes inotify's default where it cannot", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'strata-queue-'));
    try {
      await writeFile(path.join(dir, 'n'), '64\n');
      assert.equal(maxQueuedEvents(path.join(dir, 'n')), 64);
      await writeFile(path.join(dir, 'bad'), 'many\n');
      assert.equal(maxQueuedEvents(path.join(dir, 'bad')), 16_384);
      assert.equal(maxQueuedEvents(path.join(dir, 'missing')), 16_384);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
