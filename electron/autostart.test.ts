import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AUTOSTART_FILE, desktopEntry, execArg, xdgAutostart } from './autostart.js';

/**
 * Splits an Exec line the way the Desktop Entry spec reads it: first as a string value (`\\` is one
 * backslash), then as quoted arguments with \\-escapes, %% for %.
 */
function parseExec(value: string): string[] {
  const line = value.replace(/\\(.)/g, (all, c: string) => (c === '\\' ? '\\' : c === 's' ? ' ' : all));
  const args: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) {
    const raw = m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? '');
    args.push(raw.replace(/%%/g, '%'));
  }
  return args;
}

const gioSkip = spawnSync('sh', ['-c', 'command -v gio'], { stdio: 'ignore' }).status === 0 ? false : "needs GLib's gio to launch a desktop entry";

describe('autostart', () => {
  it('writes an Exec line that gives back exactly the command, whatever its paths hold', () => {
    const command = ['/opt/Strata App/strata', '/home/dana/my "app"/main.js', 'cost$HOME', '100%', 'back\\slash', 'trail\\', 'x\\$y', 'plain'];
    const exec = /^Exec=(.*)$/m.exec(desktopEntry(command))?.[1] ?? '';
    assert.deepEqual(parseExec(exec), command);
    assert.equal(execArg('plain'), 'plain');
    assert.equal(execArg(''), '""');
  });

  it('runs exactly the command when GLib launches it, as GNOME and Xfce do', { skip: gioSkip, timeout: 30_000 }, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'strata-autostart-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await mkdir(join(dir, 'my $app'));
    const program = join(dir, 'my $app', 'args.sh');
    await writeFile(program, '#!/bin/sh\nfor a in "$@"; do printf \'%s\\n\' "$a"; done >"$(dirname "$0")/args.txt"\n');
    await chmod(program, 0o755);
    const command = [program, 'cost$HOME', '100%', 'a "quoted" word', 'back\\slash', 'trail\\', 'x\\$y', 'plain'];
    const entry = join(dir, AUTOSTART_FILE);
    await writeFile(entry, desktopEntry(command));
    const launched = spawnSync('gio', ['launch', entry], { encoding: 'utf8' });
    assert.equal(launched.status, 0, `gio could not launch the entry: ${launched.stderr}`);
    const out = join(dir, 'my $app', 'args.txt');
    // gio returns once the program is started; its arguments are written a moment later.
    let text = '';
    while (!text.endsWith('plain\n')) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      text = await readFile(out, 'utf8').catch(() => '');
    }
    assert.deepEqual(text.split('\n').slice(0, -1), command.slice(1));
  });

  it('is off until set, on once set, and off again when removed or when the desktop turned it off', async (t) => {
    const home = await mkdtemp(join(tmpdir(), 'strata-autostart-'));
    t.after(() => rm(home, { recursive: true, force: true }));
    const auto = xdgAutostart(join(home, '.config'), ['/usr/bin/strata-app']);
    assert.equal(await auto.enabled(), false);
    await auto.set(true);
    assert.equal(await auto.enabled(), true);
    const file = join(home, '.config/autostart', AUTOSTART_FILE);
    assert.match(await readFile(file, 'utf8'), /^\[Desktop Entry\]\nType=Application\nName=Strata\n[^]*^Exec=\/usr\/bin\/strata-app$/m);
    await writeFile(file, (await readFile(file, 'utf8')).replace('X-GNOME-Autostart-enabled=true', 'X-GNOME-Autostart-enabled=false'));
    assert.equal(await auto.enabled(), false, 'turned off in the desktop settings');
    await auto.set(true);
    assert.equal(await auto.enabled(), true);
    await writeFile(file, `${await readFile(file, 'utf8')}Hidden=true\n`);
    assert.equal(await auto.enabled(), false, 'hidden');
    await auto.set(false);
    assert.equal(await auto.enabled(), false);
    await auto.set(false);
  });
});
