import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeRng, testSeed } from '../testing/random.js';
import { SseParser } from './events.js';

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
