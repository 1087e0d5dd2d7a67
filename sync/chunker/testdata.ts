/**
 * Fixed pseudo-random test data (xorshift32), for tests whose expected values are constants and
 * so must not depend on any other module's generator. Randomized tests use sync/testing/random.ts.
 */
export function fixedData(n: number, seed: number): Buffer {
  const buf = Buffer.alloc(n);
  let x = seed | 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x & 0xff;
  }
  return buf;
}
