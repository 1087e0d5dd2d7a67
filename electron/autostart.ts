/**
 * Starting Strata when the user logs in: a sync agent that is not running syncs nothing. On Linux
 * desktops that is an XDG autostart entry (`$XDG_CONFIG_HOME/autostart/strata.desktop`, per the
 * freedesktop Desktop Application Autostart spec), written here; on macOS and Windows, Electron's
 * login item settings (main.ts).
 *
 * What must hold: the entry runs exactly the given command, whatever its paths hold (spaces,
 * quotes, `$`, `%`: the Desktop Entry spec's quoting); it is written atomically; an entry the user
 * or the desktop turned off (Hidden=true, X-GNOME-Autostart-enabled=false) counts as off.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrno } from '../sync/fsutil.js';
import { writeFileAtomic } from '../sync/state/fsutil.js';

export interface Autostart {
  enabled(): Promise<boolean>;
  set(on: boolean): Promise<void>;
}

/**
 * One argument of an Exec line: quoted when it must be, `%` doubled (field codes). The quoting's
 * backslashes are then doubled too: the line is a string value first, in which `\\` is one.
 */
export function execArg(arg: string): string {
  const escaped = arg.replace(/%/g, '%%');
  if (escaped !== '' && !/[\s"'\\`$<>~|&;*?#()]/.test(escaped)) return escaped;
  return `"${escaped.replace(/(["`$\\])/g, '\\$1').replace(/\\/g, '\\\\')}"`;
}

/** The autostart entry that runs `command` (the program, then its arguments). */
export function desktopEntry(command: readonly string[]): string {
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Name=Strata',
    'Comment=Keeps your data layer in sync',
    `Exec=${command.map(execArg).join(' ')}`,
    'Terminal=false',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
}

export const AUTOSTART_FILE = 'strata.desktop';

/** The XDG autostart entry under `configHome` ($XDG_CONFIG_HOME, or ~/.config). */
export function xdgAutostart(configHome: string, command: readonly string[]): Autostart {
  const dir = join(configHome, 'autostart');
  const file = join(dir, AUTOSTART_FILE);
  return {
    async enabled() {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        if (isErrno(err, 'ENOENT', 'ENOTDIR')) return false;
        throw err;
      }
      return !/^Hidden\s*=\s*true\s*$/m.test(text) && !/^X-GNOME-Autostart-enabled\s*=\s*false\s*$/m.test(text);
    },
    async set(on) {
      if (!on) return rm(file, { force: true });
      await mkdir(dir, { recursive: true });
      await writeFileAtomic(file, desktopEntry(command));
    },
  };
}
