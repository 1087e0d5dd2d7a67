/**
 * Child process for dconf.test.ts: one write to a dconf of its own (testkit's startDconf: its bus,
 * and the dconf service the bus starts, are this process's children), then a rename of `marker` to
 * `marker.done`, so that a trace of this process shows what was durable when the write returned.
 * Prints the database's folder (XDG_CONFIG_HOME).
 *
 * Usage: node --import tsx dconf-child.ts <marker>
 */
import { rename, writeFile } from 'node:fs/promises';
import { startDconf } from './testkit.js';

if (process.argv[1]?.endsWith('dconf-child.ts')) {
  const marker = process.argv[2]!;
  const stops: (() => unknown)[] = [];
  const { dconf, config } = await startDconf({ after: (fn) => stops.push(fn) });
  const problems = await dconf.write([{ key: '/org/test/app/theme', value: "'dark'" }]);
  if (problems.length > 0) throw new Error(`dconf refused: ${JSON.stringify(problems)}`);
  await writeFile(marker, '');
  await rename(marker, `${marker}.done`);
  process.stdout.write(`${config}\n`);
  for (const stop of stops) await stop();
}
