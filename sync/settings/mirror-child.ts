/**
 * Child process for files.test.ts: one settings mirror run over an in-memory store holding `count`
 * keys (the same values at every start), so that the test can trace its syscalls or kill it.
 *
 * Usage: node --import tsx mirror-child.ts <root> <stateFile> <count> [store]
 * where `store`, a JSON object of keys and values, replaces the store's values.
 */
import { SettingsMirror } from './mirror.js';
import { MemorySettings } from './testkit.js';

export const CHILD_DIRS = ['/org/app/'];

/** The store's values: `count` keys over a few dirs. */
export function childValues(count: number): Map<string, string> {
  return new Map(Array.from({ length: count }, (_, i) => [`/org/app/d${i % 7}/k${i}`, `'value ${i}'`]));
}

if (process.argv[1]?.endsWith('mirror-child.ts')) {
  const [root, stateFile, count, values] = process.argv.slice(2) as [string, string, string, string | undefined];
  const store = new MemorySettings();
  for (const [k, v] of values === undefined ? childValues(Number(count)) : Object.entries(JSON.parse(values) as Record<string, string>)) store.values.set(k, v);
  process.stdout.write('start\n');
  await new SettingsMirror({ root, store, dirs: CHILD_DIRS, stateFile, device: 'pc', policy: 'keep-both' }).sync();
  process.stdout.write('done\n');
}
