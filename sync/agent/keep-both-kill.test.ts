/**
 * Keep both over a process killed at each of its calls that change the disk (keep-both-kill-child.ts):
 * whatever point it died at, nothing is left that sync could take for a file of the user's (an
 * empty file under the kept name), and keeping both again ends the conflict as one uncut keep
 * would, under the same name.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { listConflicts } from './conflicts.js';
import { keepBoth, keptName } from './keep-both.js';
import { listDir, tempRoot } from './testkit.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = join(REPO, 'sync/agent/keep-both-kill-child.ts');
const COPY = 'docs/notes.sync-conflict-20261201-101500-laptop.txt';

/** Runs the child killed at call `n`: true if it was, false if keepBoth ended first. */
async function keepBothKilledAt(root: string, n: number): Promise<boolean> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, root, COPY, String(n)], { cwd: REPO, stdio: ['ignore', 'inherit', 'inherit'] });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (c, s) => resolve([c, s]));
  });
  if (code === 3) return false;
  assert.equal(signal, 'SIGKILL', `killed at call ${n} (exit code ${code})`);
  return true;
}

/** For each call keep both makes, a folder whose copy (`theirs`: a file's text or `->` a link's target) it was killed after. */
async function killedAtEachCall(t: TestContext, theirs: string): Promise<void> {
  const kept = `docs/${keptName(listConflicts([COPY])[0]!)}`;
  for (let n = 1; ; n++) {
    const root = await tempRoot(t, `keep-both-kill-${n}`);
    await mkdir(join(root, 'docs'));
    await writeFile(join(root, 'docs/notes.txt'), 'mine');
    if (theirs.startsWith('->')) await symlink(theirs.slice(2), join(root, COPY));
    else await writeFile(join(root, COPY), theirs);
    if (!(await keepBothKilledAt(root, n))) {
      assert.ok(n > 1, 'keep both changed the disk');
      return;
    }
    const left = await listDir(root);
    for (const [path, text] of Object.entries(left)) {
      if (path === 'docs/' || path === 'docs/notes.txt') continue;
      assert.ok(path === COPY || path === kept, `killed at call ${n}: ${path} is left`);
      assert.equal(text, theirs, `killed at call ${n}: ${path} holds the copy's version, whole`);
    }
    assert.ok(COPY in left || kept in left, `killed at call ${n}: the copy's version is on the disk`);
    if (COPY in left) assert.equal(await keepBoth(root, listConflicts([COPY])[0]!), kept, `killed at call ${n}: keeping both again takes the same name`);
    assert.deepEqual(await listDir(root), { 'docs/': '', 'docs/notes.txt': 'mine', [kept]: theirs }, `killed at call ${n}`);
  }
}

test('keep both of a file killed at any point leaves no empty file under the kept name, and ends when kept both again', async (t) => {
  await killedAtEachCall(t, 'theirs');
});

test('keep both of a link killed at any point leaves no empty file under the kept name, and ends when kept both again', async (t) => {
  await killedAtEachCall(t, '->elsewhere.txt');
});
