import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeRng, testSeed } from '../testing/random.js';
import type { AgentEvent, FolderStatus } from '../../shared/agent-api.js';
import { EventQueue, SseParser } from './events.js';
import { folderStatus } from './testkit.js';

describe('SseParser', () => {
  it('yields each event once, however the stream is cut into chunks', () => {
    const stream = ': hello\n\ndata: {"a":1}\n\ndata:{"b":2}\r\n\r\ndata: line1\ndata: line2\n\n: ping\n\nid: 7\ndata: x\r\rdata: tail';
    const expected = ['{"a":1}', '{"b":2}', 'line1\nline2', 'x'];
    assert.deepEqual(new SseParser().push(stream), expected);
    const rng = makeRng(testSeed('SseParser chunks'));
    for (let round = 0; round < 200; round++) {
      const parser = new SseParser();
      const got: string[] = [];
      let at = 0;
      while (at < stream.length) {
        const n = rng.range(1, 6);
        got.push(...parser.push(stream.slice(at, at + n)));
        at += n;
      }
      assert.deepEqual(got, expected, `round ${round}`);
    }
  });
});

describe('EventQueue', () => {
  const status = (over: Partial<FolderStatus>): AgentEvent => ({ type: 'status', status: { deviceId: 'd', paused: false, state: over.state ?? 'idle', folders: [folderStatus('/r', over)] } });
  const up = (files: number) => status({ state: 'uploading', progress: { files, filesTotal: 9, bytes: files, bytesTotal: 9, rate: 0 } });
  const drain = (q: EventQueue): unknown[] => {
    const out: unknown[] = [];
    for (let t = q.peek(); t !== undefined; t = q.peek()) {
      q.shift();
      const e = JSON.parse(t.replace(/^data: /, '')) as AgentEvent;
      out.push(e.type === 'conflict' ? 'conflict' : `${e.status.state}${e.status.folders[0]?.progress ? ` ${e.status.folders[0].progress.files}` : ''}`);
    }
    return out;
  };

  it('keeps the newest of statuses that differ only in progress, and every other event in order', () => {
    const q = new EventQueue();
    for (const e of [up(1), up(2), up(3)]) q.push(e);
    q.push({ type: 'conflict', root: '/r', conflict: { path: 'a', copy: 'a.sync-conflict-20240501-100000-x', device: 'x' } });
    for (const e of [up(4), up(5), status({ state: 'downloading', progress: { files: 0, filesTotal: 2, bytes: 0, bytesTotal: 2, rate: 0 } }), status({ lastSync: '2024-05-01T10:00:00.000Z' }), status({ lastSync: '2024-05-01T10:00:00.000Z' })]) q.push(e);
    assert.deepEqual(drain(q), ['uploading 3', 'conflict', 'uploading 5', 'downloading 0', 'idle']);
    assert.equal(q.bytes, 0);
  });

  it('never replaces a status already taken off the queue, and counts the bytes it holds', () => {
    const q = new EventQueue();
    q.push(up(1));
    const first = q.peek()!;
    q.shift();
    q.push(up(2));
    assert.notEqual(q.peek(), first);
    assert.equal(q.bytes, q.peek()!.length);
    q.push(up(3));
    assert.equal(q.bytes, q.peek()!.length);
    assert.deepEqual(drain(q), ['uploading 3']);
  });

  it('holds in memory only what is queued, for a reader that stays behind and never lets the queue empty', () => {
    const q = new EventQueue();
    const conflict = (i: number): AgentEvent => ({ type: 'conflict', root: '/r', conflict: { path: `f${i}`, copy: `f${i}.sync-conflict-20240501-100000-x`, device: 'x' } });
    q.push(conflict(0));
    for (let i = 1; i <= 10_000; i++) {
      q.push(conflict(i));
      q.shift();
    }
    // What the queue keeps in memory, written or not (its array: a test may look at it).
    const held = (q as unknown as { items: { size: number }[] }).items;
    assert.ok(held.length <= 2, `${held.length} events held for 1 queued`);
    assert.equal(q.bytes, Buffer.byteLength(q.peek()!));
    assert.deepEqual(drain(q), ['conflict']);
  });
});
