import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { FolderStatus } from './agent-api.js';
import { errorLine, errorText, escapeControls, formatBytes, formatProgress, layerLine, shortPath, stateLabel, visibleName } from './status-text.js';

it('says what the agent is doing in words', () => {
  assert.equal(stateLabel('idle', undefined), 'Idle');
  assert.equal(stateLabel('idle', '2026-12-05T10:00:00Z'), 'In sync');
  assert.equal(stateLabel('idle', '2026-12-05T10:00:00Z', true), 'Waiting for you');
  assert.equal(stateLabel('uploading', '2026-12-05T10:00:00Z', true), 'Uploading');
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(3 * 1024 * 1024 + 100 * 1024), '3.1 MiB');
  assert.equal(formatProgress({ files: 12, filesTotal: 40, bytes: 1024, bytesTotal: 4096, rate: 2048, etaSeconds: 1.2 }), '12 of 40 files, 1.0 KiB of 4.0 KiB, 2.0 KiB/s, 2 s left');
  assert.equal(formatProgress({ files: 0, filesTotal: 3, bytes: 0, bytesTotal: 10, rate: 0 }), '0 of 3 files, 0 B of 10 B');
});

it('marks totals that are still being counted, and gives no time left for them', () => {
  assert.equal(formatProgress({ files: 12, filesTotal: 40, bytes: 1024, bytesTotal: 4096, rate: 2048, counting: true }), '12 of 40+ files, 1.0 KiB of 4.0 KiB+, 2.0 KiB/s, still counting');
  assert.equal(formatProgress({ files: 0, filesTotal: 1, bytes: 0, bytesTotal: 10, rate: 0, counting: true }), '0 of 1+ files, 0 B of 10 B+, still counting');
  assert.equal(formatProgress({ files: 0, filesTotal: 0, bytes: 0, bytesTotal: 0, rate: 0, counting: true }), 'looking for changes');
  assert.equal(formatProgress({ files: 1, filesTotal: 2, bytes: 0, bytesTotal: 10, rate: 0, counting: false }), '1 of 2 files, 0 B of 10 B');
});

it('says "1 file", not "1 files"', () => {
  assert.equal(formatProgress({ files: 0, filesTotal: 1, bytes: 0, bytesTotal: 10, rate: 0 }), '0 of 1 file, 0 B of 10 B');
});

it('says the time left in the unit that reads best: seconds, minutes, hours', () => {
  const left = (etaSeconds: number) => formatProgress({ files: 1, filesTotal: 2, bytes: 1, bytesTotal: 2, rate: 1, etaSeconds }).replace(/.*, /, '');
  assert.equal(left(59), '59 s left');
  assert.equal(left(61), '2 min left');
  assert.equal(left(3600), '60 min left');
  assert.equal(left(8400), '2 h 20 min left');
  assert.equal(left(7200), '2 h left');
});

it('shortens a path longer than 200 characters in the middle, keeping its start and its end', () => {
  const deep = `/home/alice/${'a'.repeat(3000)}/${'é'.repeat(10)}.txt`;
  const short = shortPath(deep);
  assert.equal([...short].length, 200);
  assert.ok(short.startsWith('/home/alice/aaa') && short.endsWith(`/${'é'.repeat(10)}.txt`), short);
  assert.match(short, /^[^…]+…[^…]+$/);
  assert.equal(shortPath('/home/alice/notes.txt'), '/home/alice/notes.txt');
  assert.equal(shortPath('x'.repeat(200)), 'x'.repeat(200));
  const e = { code: 'E_PATH_TOO_LONG', message: 'too long', path: deep };
  assert.equal(errorLine(e), `E_PATH_TOO_LONG ${short}: too long`);
  assert.equal(errorText(e), `too long (${short})`);
});

it('shows what would be invisible in a name: control characters as escapes, whitespace at its ends or only', () => {
  assert.equal(visibleName('line1\nline2.txt'), 'line1\\nline2.txt');
  assert.equal(visibleName('a\tb\r\u0001\u001b\u007f\u2028.txt'), 'a\\tb\\r\\x01\\x1b\\x7f\\u2028.txt');
  assert.equal(visibleName('   '), '␣␣␣');
  assert.equal(visibleName('\t'), '\\t');
  assert.equal(visibleName(' notes .txt\u00a0'), '␣notes .txt\\xa0');
  assert.equal(visibleName('/home/alice/Work/notes.txt'), '/home/alice/Work/notes.txt');
  assert.equal(errorText({ code: 'E_IO', message: 'denied', path: 'a\nb' }), 'denied (a\\nb)');
});

it('escapes control characters (C0, DEL, C1, the line separators), and with bidi the bidi controls, as a string literal writes them', () => {
  assert.equal(escapeControls('a\nb\tc\r\u0000\u001b[31m\u007f\u0085\u009f\u2028\u2029'), 'a\\nb\\tc\\r\\x00\\x1b[31m\\x7f\\x85\\x9f\\u2028\\u2029');
  assert.equal(escapeControls('a\u202eb\u2066c\u2069'), 'a\u202eb\u2066c\u2069');
  assert.equal(escapeControls('a\u202ab\u202ec\u2066d\u2069\n', { bidi: true }), 'a\\u202ab\\u202ec\\u2066d\\u2069\\n');
  assert.equal(escapeControls('ÿ é 😀 \u00a0', { bidi: true }), 'ÿ é 😀 \u00a0');
});

it('says a fractional count (a rate, an average) in whole bytes below 1 KiB', () => {
  assert.equal(formatBytes(713.2857142857143), '713 B');
  assert.equal(formatBytes(0.4), '0 B');
  assert.equal(formatBytes(1023.7), '1.0 KiB');
  assert.equal(formatBytes(1536.3), '1.5 KiB');
  assert.equal(formatProgress({ files: 1, filesTotal: 2, bytes: 10.5, bytesTotal: 20, rate: 333.3333333333333 }), '1 of 2 files, 11 B of 20 B, 333 B/s');
});

it('says no time left of 0 s: a pass at its end has none to give', () => {
  assert.equal(formatProgress({ files: 2, filesTotal: 2, bytes: 1024, bytesTotal: 1024, rate: 512, etaSeconds: 0 }), '2 of 2 files, 1.0 KiB of 1.0 KiB, 512 B/s');
});

it("says a folder's files as not counted yet until a pass counted them, not as 0 files throughout a first sync", () => {
  const f = (over: Partial<FolderStatus>): FolderStatus => ({ root: '/home/alice', layer: 'user/alice', state: 'uploading', conflicts: [], files: 0, syncedPasses: 0, passes: 0, ...over });
  assert.equal(layerLine(f({})), 'Layer user/alice, files not counted yet');
  assert.equal(layerLine(f({ state: 'idle', lastSync: '2026-12-05T10:00:00Z' })), 'Layer user/alice, 0 files', 'an empty folder that synced has 0 files');
  assert.equal(layerLine(f({ files: 12 })), 'Layer user/alice, 12 files', 'a held first pass counted them');
  assert.equal(layerLine(f({ files: 1, lastSync: '2026-12-05T10:00:00Z' })), 'Layer user/alice, 1 file');
});
