// The progress a pass reports (PassPhase): totals that are either final or marked as still
// counting, and counts that move as files are uploaded and laid.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PassPhase } from './folder.js';
import { ProgressMeter } from './progress.js';
import { twoDevices } from './testkit.js';

const FILES = 30;

test('upload progress: the count moves on its own, and a total is final unless marked as still counting', async (t) => {
  const { a } = await twoDevices(t, 'progress-up');
  const phases: PassPhase[] = [];
  a.extra.onPhase = (p) => phases.push({ ...p });
  await a.restart({});
  let bytes = 0;
  for (let i = 0; i < FILES; i++) {
    const text = `file ${i} `.repeat(200 + i);
    bytes += text.length;
    await a.write(`d${i % 3}/f${i}.txt`, text);
  }
  phases.length = 0;
  await a.pass();
  const up = phases.filter((p) => p.state === 'uploading');
  assert.ok(up.length > 0);
  assert.deepEqual(up.at(-1), { state: 'uploading', files: FILES, filesTotal: FILES, bytes, bytesTotal: bytes, counting: false });
  for (const p of up) {
    assert.ok(p.files <= p.filesTotal && p.bytes <= p.bytesTotal, JSON.stringify(p));
    if (!p.counting) assert.deepEqual([p.filesTotal, p.bytesTotal], [FILES, bytes], `a total not marked as counting is final: ${JSON.stringify(p)}`);
  }
  assert.ok(up.some((p) => p.files > 0 && p.files < FILES), 'the count moves before the end');
  for (let i = 1; i < up.length; i++) assert.ok(up[i]!.files >= up[i - 1]!.files && up[i]!.filesTotal >= up[i - 1]!.filesTotal, 'never backwards');
});

test('download progress: the total is known from the start, and the count moves with every file laid', async (t) => {
  const { a, b } = await twoDevices(t, 'progress-down');
  let bytes = 0;
  for (let i = 0; i < FILES; i++) {
    const text = `file ${i} `.repeat(200 + i);
    bytes += text.length;
    await a.write(`d${i % 3}/f${i}.txt`, text);
  }
  await a.pass();
  const phases: PassPhase[] = [];
  await b.restart({ onPhase: (p) => phases.push({ ...p }) });
  await b.pass();
  const down = phases.filter((p) => p.state === 'downloading');
  assert.ok(down.length > 0);
  for (const p of down) assert.deepEqual([p.filesTotal, p.bytesTotal, p.counting], [FILES, bytes, false], JSON.stringify(p));
  assert.deepEqual(down.at(-1), { state: 'downloading', files: FILES, filesTotal: FILES, bytes, bytesTotal: bytes, counting: false });
  const counts = new Set(down.map((p) => p.files));
  assert.ok(counts.size > FILES / 2, `the count moves file by file: ${[...counts].join(',')}`);
  for (let i = 1; i < down.length; i++) assert.ok(down[i]!.files >= down[i - 1]!.files && down[i]!.bytes >= down[i - 1]!.bytes, 'never backwards');
});

test('no time left is given while the total is still counting: it would only grow', () => {
  let now = 0;
  const meter = new ProgressMeter(() => now);
  meter.update({ files: 1, filesTotal: 10, bytes: 100, bytesTotal: 1000, counting: true });
  now = 1000;
  const counting = meter.update({ files: 2, filesTotal: 10, bytes: 200, bytesTotal: 1000, counting: true });
  assert.equal(counting.rate, 100);
  assert.equal(counting.etaSeconds, undefined);
  now = 2000;
  const final = meter.update({ files: 3, filesTotal: 10, bytes: 300, bytesTotal: 1000, counting: false });
  assert.equal(final.etaSeconds, 7);
});

test('the meter holds a bounded number of samples however often a pass reports (one report per file of a 100,000-file upload)', () => {
  let now = 0;
  const meter = new ProgressMeter(() => now);
  let last = meter.update({ files: 0, filesTotal: 20_000, bytes: 0, bytesTotal: 20_000_000 });
  for (let i = 1; i <= 20_000; i++) {
    now = i; // one report a millisecond: 5,000 of them in the rate's window
    last = meter.update({ files: i, filesTotal: 20_000, bytes: i * 1000, bytesTotal: 20_000_000 });
  }
  assert.ok(meter.samplesHeld <= 60, `${meter.samplesHeld} samples held`);
  assert.equal(last.rate, 1_000_000);
});

test('no time left is given once every byte is done: a pass at its end is not "0 s left"', () => {
  let now = 0;
  const meter = new ProgressMeter(() => now);
  meter.update({ files: 1, filesTotal: 2, bytes: 500, bytesTotal: 1000 });
  now = 1000;
  const done = meter.update({ files: 2, filesTotal: 2, bytes: 1000, bytesTotal: 1000 });
  assert.equal(done.rate, 500);
  assert.equal(done.etaSeconds, undefined);
});
