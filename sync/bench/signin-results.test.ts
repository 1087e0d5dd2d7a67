import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseChildLine, type ChildLine } from './signin-proc.js';
import { caseFromRun } from './signin-results.js';

const line = (at: number, fields: Record<string, unknown>): ChildLine => parseChildLine(JSON.stringify(fields), at) as ChildLine;
const transfer = { files: 10, bytes: 1000, bytesDownloaded: 600, bytesSeeded: 300, bytesReused: 100 };
const chunked = (files: number) => ({ files, bytes: files * 10, busyMs: files });

describe('sign-in child lines', () => {
  it('takes only its JSON objects with a type and a child clock', () => {
    assert.deepEqual(parseChildLine('{"type":"mark","name":"start","ms":12}', 0.5), { type: 'mark', name: 'start', ms: 12, at: 0.5 });
    assert.equal(parseChildLine('warning: something', 1), undefined);
    assert.equal(parseChildLine('{"type":"mark"}', 1), undefined);
    assert.equal(parseChildLine('{not json', 1), undefined);
  });
});

describe('a sign-in record from the child run', () => {
  const lines = [
    line(0.2, { type: 'mark', name: 'start', ms: 150 }),
    line(0.4, { type: 'mark', name: 'verified', ms: 350 }),
    line(1.4, { type: 'layers', ms: 1350 }),
    line(2.4, { type: 'first-progress', phase: 'ready', ms: 2350 }),
    line(5.4, { type: 'ready', ms: 5350, timeToReadyMs: 5000, ...transfer, gets: 40, bytesFetched: 700, chunked: chunked(3) }),
    line(6.4, { type: 'first-progress', phase: 'rest', ms: 6350 }),
    line(9.4, { type: 'done', ms: 9350, totalMs: 9000, conflicts: 0, removed: 2, ...transfer, files: 20, gets: 90, bytesFetched: 1500, chunked: chunked(5) }),
  ];

  it('times ready and total from the harness, splits the child time between its lines', () => {
    const r = caseFromRun({ readySeconds: 5.4, seconds: 9.6, lines }, { files: 0, bytes: 0 });
    assert.equal(r.readySeconds, 5.4);
    assert.equal(r.seconds, 9.6);
    assert.deepEqual(r.breakdown, { startup: 0.2, open: 0.2, layers: 1, readyPrep: 1, readyFill: 3, restPrep: 1, restFill: 3, exit: 9.6 - 9.4 });
    assert.deepEqual(r.ready, transfer);
    assert.equal(r.done?.files, 20);
    assert.equal(r.removed, 2);
    assert.deepEqual(r.store, { readyGets: 40, readyFetched: 700, gets: 90, fetched: 1500 });
    assert.deepEqual(r.chunked, { ready: chunked(3), done: chunked(5) });
  });

  it('without a rest phase, the rest is everything after ready', () => {
    const r = caseFromRun({ readySeconds: 5.4, seconds: 9.6, lines: lines.filter((l) => l.phase !== 'rest') }, { files: 1, bytes: 2 });
    assert.equal(r.breakdown?.restPrep, undefined);
    assert.equal(r.breakdown?.restFill, 4);
    assert.deepEqual(r.present, { files: 1, bytes: 2 });
  });
});
