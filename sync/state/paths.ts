/**
 * Where the agent keeps its state when `--state-dir` is not given: the per-user, per-machine
 * application data folder of each OS. Pure: the caller passes the platform, environment and home.
 */
import { posix, win32 } from 'node:path';

export function defaultStateDir(platform: NodeJS.Platform, env: Readonly<Record<string, string | undefined>>, homedir: string): string {
  if (platform === 'win32') {
    const local = env.LOCALAPPDATA;
    return local && win32.isAbsolute(local) ? win32.join(local, 'Strata') : win32.join(homedir, 'AppData', 'Local', 'Strata');
  }
  if (platform === 'darwin') return posix.join(homedir, 'Library', 'Application Support', 'Strata');
  // The XDG spec says a relative XDG_STATE_HOME is invalid and must be ignored.
  const xdg = env.XDG_STATE_HOME;
  return xdg && posix.isAbsolute(xdg) ? posix.join(xdg, 'strata') : posix.join(homedir, '.local', 'state', 'strata');
}
