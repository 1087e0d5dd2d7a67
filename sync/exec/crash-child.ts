/**
 * Child process for crash.test.ts: executes a plan read from a JSON file and prints one line per
 * applied op, writing file bytes in small slices so that a SIGKILL can land in the middle.
 *
 * Usage: node --import tsx crash-child.ts <job.json>
 *   job: { root, journalPath, ops: ApplyOp[], contents: string[] (bytesOf specs) }
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
}

const job = JSON.parse(await readFile(process.argv[2] as string, 'utf8')) as Job;
const blobs = new Blobs();
for (const c of job.contents) blobs.add(bytesOf(c));
process.stdout.write('start\n');
const result = await executePlan(job.root, job.ops, {
  fetch: blobs.fetch(16 * 1024),
  journalPath: job.journalPath,
  onApplied: (r) => process.stdout.write(`${r.status} ${r.index}\n`),
});
process.stdout.write(result.complete ? 'complete\n' : 'incomplete\n');
