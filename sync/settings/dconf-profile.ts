/**
 * dconf's profile (DCONF_PROFILE, else `user`), read as the dconf client reads it: the one line of
 * a profile for reads that sees the user's own database alone, and where that database's file is.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

/**
 * The one line of a profile for reads that holds only the user's database of the active profile
 * (DCONF_PROFILE, by name or path, else `user`): `dconf dump` shows what the system databases under
 * it hold too — an administrator's defaults, which are not the user's to sync (adopted into the
 * layer, they would override other machines' defaults). Undefined when the active profile is the
 * default one (the user's database alone) or names no user database. Writes keep the active
 * profile, locks and all.
 */
export async function userOnlyLine(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const lines = await profileLines(env);
  if (lines === undefined) return undefined;
  const user = lines.find((l) => l.startsWith('user-db:'));
  return user === undefined || lines.length === 1 ? undefined : user;
}

/** The lines of the active profile (DCONF_PROFILE, by name or path, else `user`), or undefined where there is none (dconf's default: the user's database `user`). */
async function profileLines(env: NodeJS.ProcessEnv): Promise<string[] | undefined> {
  const name = env.DCONF_PROFILE ?? 'user';
  const dataDirs = (env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':').filter((d) => d !== '');
  const candidates = isAbsolute(name) ? [name] : name.includes('/') ? [] : ['/etc/dconf/profile', ...dataDirs.map((d) => join(d, 'dconf/profile'))].map((d) => join(d, name));
  for (const file of candidates) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined) return text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  }
  return undefined;
}

/** The user's database file of the active profile, where the dconf client reads it; undefined where the profile names none. */
export async function userDatabase(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const lines = await profileLines(env);
  const name = lines === undefined ? 'user' : lines.find((l) => l.startsWith('user-db:'))?.slice('user-db:'.length);
  if (name === undefined || name === '' || name.includes('/')) return undefined;
  const config = env.XDG_CONFIG_HOME !== undefined && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(env.HOME ?? homedir(), '.config');
  return join(config, 'dconf', name);
}
