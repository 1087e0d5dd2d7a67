/**
 * Seeded randomness for tests and simulations.
 *
 * Every randomized test must be reproducible: it takes its seed from `testSeed()`, which prints
 * it, and rerunning with `SEED=<n>` replays exactly the same run. Code under test never draws
 * from Math.random when a test can inject an Rng instead.
 *
 * The generator is a 32-bit Weyl sequence passed through a murmur3-style finalizer: tiny, fast,
 * and good enough for test data and fault injection (it is not for cryptography).
 */

export interface Rng {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** An integer in [min, max], both ends included. */
  range(min: number, max: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** n pseudo-random bytes. */
  bytes(n: number): Uint8Array;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** A shuffled copy of an array. */
  shuffle<T>(items: readonly T[]): T[];
}

const TWO_32 = 2 ** 32;

export function makeRng(seed: number): Rng {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  let state = seed >>> 0;

  const next32 = (): number => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };

  const int = (n: number): number => {
    if (!Number.isSafeInteger(n) || n <= 0 || n > TWO_32) throw new RangeError(`int(n) needs 0 < n <= 2^32, got ${n}`);
    return Math.floor((next32() / TWO_32) * n);
  };

  const rng: Rng = {
    next: () => next32() / TWO_32,
    int,
    range: (min, max) => {
      if (max < min) throw new RangeError(`range(${min}, ${max}) is empty`);
      return min + int(max - min + 1);
    },
    chance: (p) => next32() / TWO_32 < p,
    bytes: (n) => {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i += 4) {
        let word = next32();
        for (let j = i; j < Math.min(i + 4, n); j++) {
          out[j] = word & 0xff;
          word >>>= 8;
        }
      }
      return out;
    },
    pick: (items) => {
      if (items.length === 0) throw new RangeError('pick() from an empty array');
      return items[int(items.length)] as (typeof items)[number];
    },
    shuffle: (items) => {
      const out = [...items];
      for (let i = out.length - 1; i > 0; i--) {
        const j = int(i + 1);
        [out[i], out[j]] = [out[j] as (typeof out)[number], out[i] as (typeof out)[number]];
      }
      return out;
    },
  };
  return rng;
}

/**
 * The seed for one randomized test: `SEED` from the environment when set (to replay a failure),
 * otherwise a fresh one. Either way it is printed, so a failing run can always be replayed.
 */
export function testSeed(name: string): number {
  const fromEnv = process.env.SEED;
  let seed: number;
  if (fromEnv !== undefined && fromEnv !== '') {
    seed = Number(fromEnv);
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`SEED must be a non-negative integer, got ${JSON.stringify(fromEnv)}`);
  } else {
    seed = Math.floor(Math.random() * TWO_32);
  }
  console.log(`${name}: seed=${seed} (rerun with SEED=${seed})`);
  return seed;
}
