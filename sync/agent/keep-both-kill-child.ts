/**
 * Child process for keep-both-kill.test.ts: keeps both versions of the conflict whose copy is
 * `<copy>` (a layer path under `<root>`; keepBoth), SIGKILLing itself as soon as its Nth call on
 * the file system that may change it (open, mkdir, link, symlink, rename, unlink) has returned.
 * It exits 3 if keepBoth ends before that call.
 *
 * Usage: node --import tsx keep-both-kill-child.ts <root> <copy> <N>
 */
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { listConflicts } from './conflicts.js';
import { keepBoth } from './keep-both.js';

const [root, copy, n] = process.argv.slice(2) as [string, string, string];
const calls = fsp as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
let made = 0;
for (const name of ['open', 'mkdir', 'link', 'symlink', 'rename', 'unlink']) {
  const original = calls[name]!;
  calls[name] = async (...args) => {
    const out = await original(...args);
    if (++made === Number(n)) process.kill(process.pid, 'SIGKILL');
    return out;
  };
}
syncBuiltinESMExports();
const [conflict] = listConflicts([copy]);
await keepBoth(root, conflict!);
process.exit(3);
