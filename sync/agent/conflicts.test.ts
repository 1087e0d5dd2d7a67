/**
 * Conflict copies of files whose names are long: the copy's name must still fit in 255 bytes
 * (Linux's limit, and the layer's: repo/tree.ts), and the conflict list must still name the file
 * it is a copy of.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { conflictName } from '../plan/index.js';
import { listConflicts } from './conflicts.js';
import { assertSame, converge, twoDevices } from './testkit.js';

const T = Date.UTC(2026, 10, 22, 3, 15, 0);

test('two devices editing a file whose name is 240 bytes both sync: the conflict copy fits, and the list names the original', async (t) => {
  const { a, b } = await twoDevices(t, 'long-conflict');
  const name = `${'x'.repeat(236)}.txt`;
  await a.write(name, 'v1');
  await converge([a, b]);
  await a.write(name, 'from a', new Date(T));
  await b.write(name, 'from b', new Date(T + 1000));
  assert.equal((await a.pass()).status, 'synced');
  assert.equal((await b.pass()).status, 'synced');
  await converge([a, b]);
  const files = await assertSame([a, b]);
  const names = Object.keys(files);
  assert.equal(names.length, 2, JSON.stringify(names));
  const copy = names.find((n) => n !== name)!;
  assert.ok(Buffer.byteLength(copy) <= 255, `${Buffer.byteLength(copy)} bytes`);
  assert.deepEqual(listConflicts(names).map((c) => [c.path, c.copy]), [[name, copy]]);
});

test('a conflict name cut to fit keeps its extension, stays the same on every device, and names its original only among its siblings', () => {
  const long = `${'é'.repeat(120)}.docx`; // 245 bytes
  const copy = conflictName(long, T, 'laptop');
  assert.ok(Buffer.byteLength(copy) <= 255 && Buffer.byteLength(copy) >= 252, `${Buffer.byteLength(copy)} bytes`);
  assert.ok(copy.endsWith('.sync-conflict-20261122-031500-laptop.docx'), copy);
  assert.equal(conflictName(long, T, 'laptop'), copy);
  assert.notEqual(conflictName(long, T, 'laptop', 2), copy);
  assert.deepEqual(listConflicts([`d/${long}`, `d/${copy}`]).map((c) => [c.path, c.copy]), [[`d/${long}`, `d/${copy}`]]);
  // Its original elsewhere, or gone: the copy is listed as no conflict (nothing to resolve it with).
  assert.deepEqual(listConflicts([`e/${long}`, `d/${copy}`]), []);
  // A name with a very long extension drops the extension rather than overflow.
  const ext = `a.${'y'.repeat(240)}`;
  assert.ok(Buffer.byteLength(conflictName(ext, T, 'laptop')) <= 255);
  assert.deepEqual(listConflicts([ext, conflictName(ext, T, 'laptop')]).map((c) => c.path), [ext]);
});

test('where names fold, a case conflict names the file that kept the name as the disk spells it, not as the copy spells it', () => {
  const copy = conflictName('docs/Readme.txt', T, 'lin');
  assert.deepEqual(listConflicts(['docs/README.txt', copy], undefined, true).map((c) => [c.path, c.copy]), [['docs/README.txt', copy]]);
  // A disk that does not fold may hold both names apart: the copy's own spelling is its original.
  assert.deepEqual(listConflicts(['docs/README.txt', copy]).map((c) => c.path), ['docs/Readme.txt']);
  assert.deepEqual(listConflicts(['docs/README.txt', 'docs/Readme.txt', copy], undefined, true).map((c) => c.path), ['docs/Readme.txt']);
});
