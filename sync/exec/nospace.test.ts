// The executor on a disk that fills up or fails: its errors say what failed in the OS's words and
// name the file (Node names none for a call on a descriptor), the journal's as well as the op's.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { describeError } from '../errors.js';
import { failFileHandle } from '../testing/fd-faults.js';
import { fillUp, NEEDS_MOUNT, withTmpfs } from '../testing/tmpfs.js';
import type { Seed } from './context.js';
import { executePlan } from './index.js';
import { clearJournal, Journal, type Intent } from './journal.js';
import { planOver, tempDir } from './testkit.js';

describe('executePlan onto a full disk', { skip: NEEDS_MOUNT }, () => {
  it("fails with E_EXEC_IO naming the file it writes, in the OS's words, the call said once", async (t) => {
    const p = await planOver(t, 'nospace', { 'docs/': '755' }, { 'docs/': '755', 'docs/b.bin': 'big:1:65536' });
    const disk = join(p.root, 'docs');
    await withTmpfs(disk, '64k', async () => {
      await fillUp(disk);
      const err = await executePlan(p.root, p.ops, { fetch: p.blobs.fetch(), journalPath: p.journalPath }).catch((e: unknown) => e);
      assert.equal(describeError(err), 'E_EXEC_IO docs/b.bin: no space left on device (write)');
    });
  });
});

describe('the journal where the disk refuses a write or an fsync', () => {
  const intent = { i: 0, op: { op: 'mkdir', path: 'docs', mode: 0o755 } } as unknown as Intent;
  const cases: Array<{ what: string; call: 'write' | 'sync' | 'truncate'; syscall: string; step: (path: string) => Promise<unknown> }> = [
    { what: 'the label of a run', call: 'write', syscall: 'write', step: (path) => Journal.open(path, { pass: 1 }) },
    { what: 'intents (written)', call: 'write', syscall: 'write', step: async (path) => (await Journal.open(path)).intents([intent]) },
    { what: 'intents (fsynced)', call: 'sync', syscall: 'fsync', step: async (path) => (await Journal.open(path)).intents([intent]) },
    { what: 'done lines', call: 'write', syscall: 'write', step: async (path) => (await Journal.open(path)).done({ index: 0, status: 'applied' }) },
    { what: 'moved lines', call: 'write', syscall: 'write', step: async (path) => (await Journal.open(path)).moved(0, { ino: 7 }) },
    { what: 'its end', call: 'truncate', syscall: 'ftruncate', step: async (path) => (await Journal.open(path)).finish() },
    { what: 'a clear', call: 'truncate', syscall: 'ftruncate', step: (path) => clearJournal(path) },
    { what: 'a clear keeping seeds', call: 'sync', syscall: 'fsync', step: (path) => clearJournal(path, [{ path: 'a', tmp: 'b', node: { type: 'dir', mode: 0o755 } } as unknown as Seed]) },
  ];
  for (const { what, call, syscall, step } of cases) {
    it(`${what}: the error names the journal (${syscall})`, async (t) => {
      const path = join(await tempDir(t, 'journal-fails'), 'exec.journal');
      await failFileHandle(t, call, 'EIO', syscall);
      const err = await step(path).catch((e: unknown) => e);
      assert.equal(describeError(err), `EIO ${path}: injected failure (${syscall})`);
    });
  }
});
