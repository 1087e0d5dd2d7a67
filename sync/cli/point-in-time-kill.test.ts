// A point-in-time restore killed half-way (SIGKILL: nothing of it runs on), then run again: what
// it restores is whole, what it moved aside is kept, and no temp file stays in the folder.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { constants } from 'node:fs';
import { mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cleanEnv, describeRun, listFiles, strata, writeTree } from './testkit.js';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('strata restore --path killed half-way, then run again', { skip: process.platform === 'win32' && 'FIFOs and SIGKILL are POSIX' }, () => {
  let tmp: string;
  let work: string;
  let storeDir: string;
  let stuck: string;
  let packBytes: Buffer;
  const data = randomBytes(40 * 1024 * 1024);
  const cli = (...args: string[]) => strata(['--store', pathToFileURL(storeDir).href, '--device', 'laptop', ...args]);

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'strata-pit-kill-'));
    work = join(tmp, 'work');
    storeDir = join(tmp, 'store');
    await writeTree(work, { big: { 'data.bin': data, 'small.txt': 'small' } });
    assert.equal((await cli('init')).code, 0);
    const r = await cli('snapshot', work, '--layer', 'user/alice');
    assert.equal(r.code, 0, describeRun(r));
    const packs = (await listFiles(join(storeDir, 'data'))).map((p) => join(storeDir, 'data', p));
    const sizes = await Promise.all(packs.map(async (p) => (await stat(p)).size));
    stuck = packs[sizes.indexOf(Math.max(...sizes))] as string;
    packBytes = await readFile(stuck);
  });
  after(() => rm(tmp, { recursive: true, force: true }));

  const temps = async () => (await readdir(work, { recursive: true })).filter((p) => p.includes('.strata-tmp'));

  /** Starts the restore with one pack a FIFO (its read waits), SIGKILLs it once a temp file is being filled, then puts the pack back. */
  async function killHalfWay(args: string[]): Promise<void> {
    await rm(stuck);
    execFileSync('mkfifo', [stuck]);
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--store', pathToFileURL(storeDir).href, '--device', 'laptop', ...args], { cwd: REPO_ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const exited = once(child, 'close');
    while (!(await temps()).some((p) => /\.strata-tmp-\d+-[0-9a-f]{16}$/.test(p))) {
      assert.equal(child.exitCode, null, stderr);
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    await exited;
    // A writer end opened and closed lets nothing block on the FIFO any more; then the pack is back.
    await (await open(stuck, constants.O_WRONLY | constants.O_NONBLOCK).catch(() => undefined))?.close();
    await rm(stuck);
    await writeFile(stuck, packBytes);
  }

  it('in place, a file in the way: the rerun restores it whole, the file moved aside is kept, no temp is left', { timeout: 120_000 }, async () => {
    await rm(join(work, 'big'), { recursive: true, force: true });
    await writeFile(join(work, 'big'), 'a file where the snapshot has a folder');
    const args = ['restore', work, '--layer', 'user/alice', '--path', 'big'];
    await killHalfWay(args);
    const r = await cli(...args);
    assert.equal(r.code, 0, describeRun(r));
    assert.ok((await readFile(join(work, 'big', 'data.bin'))).equals(data), 'restored whole');
    assert.equal(await readFile(join(work, 'big', 'small.txt'), 'utf8'), 'small');
    const copies = (await readdir(work)).filter((n) => n.startsWith('big.sync-conflict-'));
    assert.equal(copies.length, 1, (await readdir(work)).join(', '));
    assert.equal(await readFile(join(work, copies[0] as string), 'utf8'), 'a file where the snapshot has a folder');
    assert.deepEqual(await temps(), []);
    await rm(join(work, copies[0] as string));
  });

  it('in place over a file being edited: the rerun replaces it, the edit is kept as a conflict copy', { timeout: 120_000 }, async () => {
    await writeFile(join(work, 'big', 'data.bin'), 'an edit in no snapshot');
    const args = ['restore', work, '--layer', 'user/alice', '--path', 'big/data.bin'];
    await killHalfWay(args);
    const r = await cli(...args);
    assert.equal(r.code, 0, describeRun(r));
    assert.ok((await readFile(join(work, 'big', 'data.bin'))).equals(data), 'restored whole');
    // The killed run may have kept the edit (a hard link) before it was cut off: the rerun takes
    // that copy for its own (restore/aside.ts keptBefore), the same version is kept once.
    const copies = (await readdir(join(work, 'big'))).filter((n) => n.startsWith('data.sync-conflict-'));
    assert.equal(copies.length, 1, (await readdir(join(work, 'big'))).join(', '));
    for (const c of copies) assert.equal(await readFile(join(work, 'big', c), 'utf8'), 'an edit in no snapshot');
    assert.deepEqual(await temps(), []);
    for (const c of copies) await rm(join(work, 'big', c));
  });

  it('--beside: the rerun places the version beside; the killed one\'s temp folder is the only temp left (a leftover for an hour)', { timeout: 120_000 }, async () => {
    await writeFile(join(work, 'big', 'data.bin'), 'current');
    const args = ['restore', work, '--layer', 'user/alice', '--path', 'big/data.bin', '--beside', '--json'];
    await killHalfWay(args);
    const left = await temps();
    const r = await cli(...args);
    assert.equal(r.code, 0, describeRun(r));
    assert.ok((await readFile(join(work, JSON.parse(r.stdout).restoredAs))).equals(data), 'restored whole');
    assert.equal(await readFile(join(work, 'big', 'data.bin'), 'utf8'), 'current');
    const tops = (await readdir(work)).filter((n) => n.startsWith('.strata-tmp'));
    assert.equal(tops.length, 1, `${tops.join(', ')}; killed left ${left.join(', ')}`);
    assert.match(tops[0] as string, /^\.strata-tmp-restore-\d+-/);
  });
});
