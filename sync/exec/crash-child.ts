/**
 * Child process for crash.test.ts and commit.test.ts: executes a plan read from a JSON file and
 * prints its pid, then one line per applied op, writing file bytes in small slices so that a
 * SIGKILL can land in the middle; with `suppress`, one line per path told to suppress.
 *
 * Usage: node --import tsx crash-child.ts <job.json>
 *   job: { root, journalPath, ops: ApplyOp[], contents: string[] (bytesOf specs), suppress?: true }
 */
import { readFile } from 'node:fs/promises';
import type { ApplyOp } from '../plan/index.js';
import { executePlan } from './index.js';
import { Blobs, bytesOf } from './testkit.js';

interface Job {
  root: string;
  journalPath: string;
  ops: ApplyOp[];
  contents: string[];
  suppress?: true;
}

const job = JSON.parse(await readFile(process.argv[2] as string, 'utf8')) as Job;
const blobs = new Blobs();
for (const c of job.contents) blobs.add(bytesOf(c));
process.stdout.write(`start ${process.pid}\n`);
const result = await executePlan(job.root, job.ops, {
  fetch: blobs.fetch(16 * 1024),
  journalPath: job.journalPath,
  onApplied: (r) => process.stdout.write(`${r.status} ${r.index}\n`),
  suppress: job.suppress ? (rel, st) => process.stdout.write(`told ${rel} ${st?.size}\n`) : undefined,
});
process.stdout.write(result.complete ? 'complete\n' : 'incomplete\n');
