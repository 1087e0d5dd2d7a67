import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AUTOSTART_FILE, desktopEntry, execArg, xdgAutostart } from './autostart.js';

/** Splits an Exec line the way the Desktop Entry spec reads it: quoted arguments with \\-escapes, %% for %. */
function parseExec(line: string): string[] {
  const args: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) {
    const raw = m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? '');
    args.push(raw.replace(/%%/g, '%'));
  }
  return args;
}

describe('autostart', () => {
  it('writes an Exec line that gives back exactly the command, whatever its paths hold', () => {
    const command = ['/opt/Strata App/strata', '/home/dana/my "app"/main.js', 'cost$HOME', '100%', 'back\\slash', 'plain'];
    const exec = /^Exec=(.*)$/m.exec(desktopEntry(command))?.[1] ?? '';
    assert.deepEqual(parseExec(exec), command);
    assert.equal(execArg('plain'), 'plain');
    assert.equal(execArg(''), '""');
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
