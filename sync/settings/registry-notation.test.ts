import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeRng, testSeed } from '../testing/random.js';
import { formatValue, parseValue, type RegValue } from './registry-notation.js';
import { badValue } from './settings.js';

const bytes = (...b: number[]) => Uint8Array.from(b);

describe('registry values as one line of .reg notation', () => {
  const cases: [string, RegValue, string][] = [
    ['a REG_SZ', { type: 'sz', data: 'C:\\Users\\x\\wall.jpg' }, '"C:\\\\Users\\\\x\\\\wall.jpg"'],
    ['an empty REG_SZ', { type: 'sz', data: '' }, '""'],
    ['a REG_SZ with quotes', { type: 'sz', data: 'say "hi"' }, '"say \\"hi\\""'],
    ['a REG_SZ with a newline', { type: 'sz', data: 'a\nb' }, 'hex(1):61,00,0a,00,62,00,00,00'],
    ['a REG_SZ with an embedded NUL', { type: 'sz', data: 'a\0' }, 'hex(1):61,00,00,00,00,00'],
    ['a REG_SZ with a lone surrogate', { type: 'sz', data: 'a\ud800' }, 'hex(1):61,00,00,d8,00,00'],
    ['a REG_SZ beyond the BMP', { type: 'sz', data: 'Öl 🙂' }, '"Öl 🙂"'],
    ['a REG_EXPAND_SZ', { type: 'expand_sz', data: '%A%' }, 'hex(2):25,00,41,00,25,00,00,00'],
    ['an empty REG_EXPAND_SZ', { type: 'expand_sz', data: '' }, 'hex(2):00,00'],
    ['a REG_MULTI_SZ', { type: 'multi_sz', data: ['a', 'b'] }, 'hex(7):61,00,00,00,62,00,00,00,00,00'],
    ['an empty REG_MULTI_SZ', { type: 'multi_sz', data: [] }, 'hex(7):00,00'],
    ['a REG_MULTI_SZ of one empty string', { type: 'multi_sz', data: [''] }, 'hex(7):00,00,00,00'],
    ['a REG_MULTI_SZ of quotes, backslashes and newlines', { type: 'multi_sz', data: ['"q"', 'c:\\', 'x\r\ny', ''] }, 'hex(7):22,00,71,00,22,00,00,00,63,00,3a,00,5c,00,00,00,78,00,0d,00,0a,00,79,00,00,00,00,00,00,00'],
    ['a REG_DWORD', { type: 'dword', data: 42 }, 'dword:0000002a'],
    ['the biggest REG_DWORD', { type: 'dword', data: 0xffffffff }, 'dword:ffffffff'],
    ['a REG_QWORD past 2^53', { type: 'qword', data: 0x0123456789abcdefn }, 'hex(b):ef,cd,ab,89,67,45,23,01'],
    ['a REG_BINARY', { type: 'binary', data: bytes(0, 1, 0xff) }, 'hex:00,01,ff'],
    ['an empty REG_BINARY', { type: 'binary', data: bytes() }, 'hex:'],
    ['a REG_NONE', { type: 'none', data: bytes(7) }, 'hex(0):07'],
    ['an empty REG_NONE', { type: 'none', data: bytes() }, 'hex(0):'],
  ];
  for (const [what, value, line] of cases) {
    it(`${what}: ${line.slice(0, 40)}`, () => {
      assert.equal(formatValue(value), line);
      assert.deepEqual(parseValue(line), value);
      assert.equal(badValue(line), undefined, 'a line the mirror takes');
    });
  }

  it('reads upper-case hex, a short dword and a hex(1) string as regedit may write them', () => {
    assert.deepEqual(parseValue('hex:AB,Cd'), { type: 'binary', data: bytes(0xab, 0xcd) });
    assert.deepEqual(parseValue('dword:1'), { type: 'dword', data: 1 });
    assert.deepEqual(parseValue('hex(1):41,00,00,00'), { type: 'sz', data: 'A' });
  });

  it('round-trips random values of every type exactly', () => {
    const rnd = makeRng(testSeed('registry notation round trip'));
    const text = () => String.fromCharCode(...Array.from({ length: rnd.int(6) }, () => rnd.pick([0, 9, 10, 0x22, 0x5c, 0x41, 0x7f, 0xe9, 0xd800, 0xdc00, 0x263a])));
    for (let i = 0; i < 2000; i++) {
      const v: RegValue = rnd.pick<() => RegValue>([
        () => ({ type: 'sz', data: text() }),
        () => ({ type: 'expand_sz', data: text() }),
        () => ({ type: 'multi_sz', data: Array.from({ length: rnd.int(4) }, () => text().replace(/\0/g, '')) }),
        () => ({ type: 'dword', data: rnd.int(0x100000000) }),
        () => ({ type: 'qword', data: BigInt(rnd.int(0x100000000)) * 0x100000000n + BigInt(rnd.int(0x100000000)) }),
        () => ({ type: 'binary', data: Uint8Array.from({ length: rnd.int(10) }, () => rnd.int(256)) }),
        () => ({ type: 'none', data: Uint8Array.from({ length: rnd.int(3) }, () => rnd.int(256)) }),
      ])();
      const line = formatValue(v);
      assert.equal(badValue(line), undefined, line);
      assert.deepEqual(parseValue(line), v, line);
    }
  });

  const hostile: [string, string, RegExp][] = [
    ['an unknown tag', 'hex(4):01,00,00,00', /hex\(4\): is a registry type/],
    ['a type tag too long', 'hex(123456789):00', /not a registry value/],
    ['a word for a tag', 'qword:1', /not a registry value/],
    ['a bare number', '42', /not a registry value/],
    ['an unquoted string', 'hello', /not a registry value/],
    ['bad hex', 'hex:0g', /two-digit hex/],
    ['a hex byte of one digit', 'hex:1,02', /two-digit hex/],
    ['a hex byte of three digits', 'hex:123', /two-digit hex/],
    ['a trailing comma', 'hex:01,', /two-digit hex/],
    ['spaces in hex', 'hex:01, 02', /two-digit hex/],
    ['an empty hex byte', 'hex:01,,02', /two-digit hex/],
    ['UTF-16 of an odd length', 'hex(2):41,00,00', /even number of bytes/],
    ['a hex(1) without its terminator', 'hex(1):41,00', /terminating NUL/],
    ['a hex(2) without its terminator', 'hex(2):', /terminating NUL/],
    ['a hex(7) without its final NUL', 'hex(7):61,00,00,00', /each end with a NUL/],
    ['a hex(7) of no bytes', 'hex(7):', /each end with a NUL/],
    ['a QWORD of 7 bytes', 'hex(b):01,02,03,04,05,06,07', /8 bytes, not 7/],
    ['a QWORD of 9 bytes', 'hex(b):01,02,03,04,05,06,07,08,09', /8 bytes, not 9/],
    ['a DWORD of 9 digits', 'dword:000000001', /1 to 8 hex digits/],
    ['a negative DWORD', 'dword:-1', /1 to 8 hex digits/],
    ['an empty DWORD', 'dword:', /1 to 8 hex digits/],
    ['a string not closed', '"abc', /must end with "/],
    ['text after a string', '"a"b"', /text follows/],
    ['an unknown escape', '"a\\n"', /only escapes/],
    ['a lone backslash at the end', '"a\\', /only escapes/],
    ['a string with a tab', '"a\tb"', /one line/],
    ['a huge value', `hex:${'00,'.repeat(1024 * 1024)}00`, /too long/],
  ];
  for (const [what, line, problem] of hostile) {
    it(`refuses ${what} with a one-line problem`, () => {
      const r = parseValue(line);
      assert.ok('problem' in r, `${line.slice(0, 40)} was read as ${JSON.stringify(r, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
      assert.match(r.problem, problem);
      assert.ok(!r.problem.includes('\n'));
    });
  }
});
