/**
 * The bytes of the benchmark corpus: config-like text, partly compressible documents and
 * SQLite-like page files. Every generator is a pure function of its seed, so a corpus can be
 * rebuilt byte for byte from `--seed` and `--size`.
 *
 * Bulk randomness comes from AES-128-CTR over zeros keyed by (seed, label): deterministic and
 * fast enough that generating a gigabyte is not what the benchmark measures. Small choices
 * (names, sizes, which format) come from the project's seeded Rng.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { makeRng, type Rng } from '../testing/random.js';

/** Deterministic pseudo-random bytes for one (seed, label). */
export class ByteSource {
  private readonly cipher;

  constructor(seed: number, label: string) {
    const key = createHash('sha256').update(`${seed}\0${label}`).digest();
    this.cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  }

  take(n: number): Buffer {
    return this.cipher.update(Buffer.alloc(n));
  }
}

const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'ze', 'pa', 'do', 'fe', 'gu', 'hi', 'ju', 'bo'];

/** A fixed vocabulary of pronounceable words; text from it compresses like prose. */
export function vocabulary(rng: Rng, size = 400): string[] {
  const words: string[] = [];
  for (let i = 0; i < size; i++) {
    let w = '';
    for (let s = rng.range(1, 4); s > 0; s--) w += rng.pick(SYLLABLES);
    words.push(w);
  }
  return words;
}

export function sentence(rng: Rng, words: readonly string[], min = 4, max = 14): string {
  const out: string[] = [];
  for (let n = rng.range(min, max); n > 0; n--) out.push(rng.pick(words));
  return out.join(' ');
}

export const CONFIG_FORMATS = ['json', 'ini', 'yaml', 'conf', 'xml'] as const;
export type ConfigFormat = (typeof CONFIG_FORMATS)[number];

function configValue(rng: Rng, words: readonly string[]): string | number | boolean {
  switch (rng.int(5)) {
    case 0: return rng.int(100000);
    case 1: return rng.chance(0.5);
    case 2: return `/home/user/${rng.pick(words)}/${rng.pick(words)}.${rng.pick(words).slice(0, 3)}`;
    case 3: return sentence(rng, words, 1, 6);
    default: return `#${rng.int(0xffffff).toString(16).padStart(6, '0')}`;
  }
}

function entry(format: ConfigFormat, key: string, value: string | number | boolean, section: string): string {
  switch (format) {
    case 'json': return `    ${JSON.stringify(key)}: ${JSON.stringify(value)},\n`;
    case 'ini': return `${key}=${value}\n`;
    case 'yaml': return `  ${key}: ${typeof value === 'string' ? JSON.stringify(value) : value}\n`;
    case 'conf': return `${section}.${key} ${value}\n`;
    case 'xml': return `  <setting name="${key}" section="${section}">${value}</setting>\n`;
  }
}

function sectionHeader(format: ConfigFormat, section: string): string {
  switch (format) {
    case 'json': return `  ${JSON.stringify(section)}: {\n`;
    case 'ini': return `\n[${section}]\n`;
    case 'yaml': return `${section}:\n`;
    case 'conf': return `# ${section}\n`;
    case 'xml': return `  <!-- ${section} -->\n`;
  }
}

const SECTION_END: Record<ConfigFormat, string> = { json: '    "_end": true\n  },\n', ini: '', yaml: '', conf: '', xml: '' };
const OPEN: Record<ConfigFormat, string> = { json: '{\n', ini: '', yaml: '', conf: '', xml: '<?xml version="1.0"?>\n<settings>\n' };
const CLOSE: Record<ConfigFormat, string> = { json: '  "version": 1\n}\n', ini: '', yaml: '', conf: '', xml: '</settings>\n' };

/** A settings file of about `target` bytes (never more than `max`), in one of a few formats. */
export function configFile(rng: Rng, words: readonly string[], format: ConfigFormat, target: number, max: number): Buffer {
  let text = OPEN[format];
  const limit = max - CLOSE[format].length - SECTION_END[format].length;
  outer: while (text.length < target) {
    const section = `${rng.pick(words)}${rng.int(10)}`;
    const header = sectionHeader(format, section);
    if (text.length + header.length > limit) break;
    text += header;
    for (let n = rng.range(2, 12); n > 0; n--) {
      const line = entry(format, `${rng.pick(words)}_${rng.pick(words)}`, configValue(rng, words), section);
      if (text.length + line.length > limit || text.length >= target) {
        text += SECTION_END[format];
        break outer;
      }
      text += line;
    }
    text += SECTION_END[format];
  }
  return Buffer.from(text + CLOSE[format]);
}

/**
 * A document of `size` bytes: blocks of prose (compressible) and of random bytes (embedded
 * images, already-compressed parts), about half and half.
 */
export function documentBytes(seed: number, label: string, size: number, textPool: Buffer): Buffer {
  const rng = makeRng(seed ^ hashLabel(label));
  const random = new ByteSource(seed, `doc:${label}`);
  const out = Buffer.alloc(size);
  let at = 0;
  while (at < size) {
    const len = Math.min(rng.range(1024, 16384), size - at);
    if (rng.chance(0.5)) {
      const from = rng.int(textPool.length - len);
      textPool.copy(out, at, from, from + len);
    } else {
      random.take(len).copy(out, at);
    }
    at += len;
  }
  return out;
}

/** A pool of prose the documents copy from at random offsets. */
export function textPool(rng: Rng, words: readonly string[], size: number): Buffer {
  const parts: string[] = [];
  let length = 0;
  while (length < size) {
    const s = `${sentence(rng, words)}. `;
    parts.push(s);
    length += s.length;
  }
  return Buffer.from(parts.join('')).subarray(0, size);
}

/** A 32-bit hash of a label, to derive per-file Rng seeds. */
export function hashLabel(label: string): number {
  return createHash('sha256').update(label).digest().readUInt32BE(0);
}
