/**
 * Child process for journal-kill.test.ts: commits the deterministic workload in a loop, continuing
 * from whatever the index holds, and prints each committed sequence number so the test can
 * SIGKILL it mid-way. A small auto-compaction threshold makes kills land in compactions too.
 *
 * Usage: node --import tsx kill-child.ts <dir> <seed>
 */
import { openFileIndex } from './file-index.js';
import { commitOps, workloadTx } from './testkit.js';

const [dir, seedText] = process.argv.slice(2) as [string, string];
const seed = Number(seedText);
const index = await openFileIndex(dir, 'synced', { autoCompact: { minBytes: 8 * 1024, ratio: 2 } });
process.stdout.write(`start ${index.sequence}\n`);
for (;;) {
  await commitOps(index, workloadTx(seed, index.sequence + 1));
  process.stdout.write(`committed ${index.sequence}\n`);
}
