import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { pidAlive, tempInUse, tempName, TempNames, tempPathIn, tempPid } from './temps.js';

const HOUR = 3600_000;

describe('temp names', () => {
  it('carry the pid of the process that makes them, after a kind if there is one; an older version\'s carry none', () => {
    for (const name of [tempName(), tempName('settings'), basename(tempPathIn('/d')), basename(new TempNames(2 ** 40).in('/d'))]) assert.equal(tempPid(name), process.pid, name);
    assert.equal(tempPid('.strata-tmp-restore-123-a1B2c3'), 123);
    for (const name of ['.strata-tmp-0123456789abcdef', '.strata-tmp-restore-a1B2c3', '.strata-tmp-crashed', 'notes-123-x']) assert.equal(tempPid(name), undefined, name);
  });
});

describe('tempInUse', () => {
  it('a file is in use while its process runs here; one of no process, until it has not changed for an hour, whatever its mtime', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-temps-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const running = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    t.after(() => running.kill());
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    const names = { running: `.strata-tmp-${running.pid}-0123456789abcdef`, gone: `.strata-tmp-settings-${gone}-0123456789abcdef`, unnamed: '.strata-tmp-0123456789abcdef' };
    for (const n of Object.values(names)) await writeFile(join(dir, n), 'half');
    // An older version set the temp's mtime to the file's before renaming it: still being written.
    const dayAgo = new Date(Date.now() - 24 * HOUR);
    await utimes(join(dir, names.unnamed), dayAgo, dayAgo);
    const inUse = (name: string, now?: number) => tempInUse(join(dir, name), name, now);
    assert.equal(inUse(names.running, Date.now() + 48 * HOUR), true);
    assert.equal(inUse(names.gone), false);
    assert.equal(inUse(names.unnamed), true);
    assert.equal(inUse(names.unnamed, Date.now() + 2 * HOUR), false);
    assert.equal(inUse('.strata-tmp-not-there'), true, 'nothing to remove');
  });

  it('a folder (a restore --beside\'s) is in use until its process is gone and nothing was added for an hour; one of no process, for a day', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-temps-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    const names = { gone: `.strata-tmp-restore-${gone}-aaaaaa`, mine: `.strata-tmp-restore-${process.pid}-bbbbbb`, unnamed: '.strata-tmp-restore-cccccc' };
    for (const n of Object.values(names)) await mkdir(join(dir, n));
    const inUse = (name: string, now?: number) => tempInUse(join(dir, name), name, now);
    assert.equal(inUse(names.gone), true);
    assert.equal(inUse(names.gone, Date.now() + 2 * HOUR), false);
    assert.equal(inUse(names.mine, Date.now() + 48 * HOUR), true);
    assert.equal(inUse(names.unnamed, Date.now() + 2 * HOUR), true);
    assert.equal(inUse(names.unnamed, Date.now() + 25 * HOUR), false);
  });

  it('a name carrying a pid no process can have (0, 2^31 or more) is of no process running here', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-temps-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    for (const pid of ['0', '2147483648', '9999999999']) {
      const name = `.strata-tmp-${pid}-0123456789abcdef`;
      await writeFile(join(dir, name), 'half');
      assert.equal(tempInUse(join(dir, name), name), false, name);
    }
    for (const pid of [0, -1, 2 ** 31, 1.5, Number.NaN]) assert.equal(pidAlive(pid), false, String(pid));
    assert.equal(pidAlive(process.pid), true);
  });

  it('a file or folder unchanged since a day before the machine started is a leftover, whoever has its pid now', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-temps-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    // Pid 1 runs as long as the machine: after a reboot, a dead agent's pid may be a daemon's.
    const names = { file: '.strata-tmp-1-0123456789abcdef', folder: '.strata-tmp-restore-1-aaaaaa' };
    await writeFile(join(dir, names.file), 'half');
    await mkdir(join(dir, names.folder));
    const inUse = (name: string, bootMs: number) => tempInUse(join(dir, name), name, Date.now() + 2 * HOUR, bootMs);
    for (const name of Object.values(names)) {
      assert.equal(inUse(name, Date.now() - HOUR), true, `${name}: made since the machine started`);
      // Within a day of the start: a clock set forward after it (a machine that starts with a stale clock).
      assert.equal(inUse(name, Date.now() + 12 * HOUR), true, `${name}: within the margin`);
      assert.equal(inUse(name, Date.now() + 25 * HOUR), false, `${name}: before the start`);
    }
  });
});
