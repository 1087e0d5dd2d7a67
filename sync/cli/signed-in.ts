/**
 * Where the point-in-time commands (`log`, `ls`, `restore`) read. Given `--store` (or
 * STRATA_STORE), the store and `--layer` as for any command. Given neither, the session of the user
 * signed in with `strata login` (`--state-dir`): the org's bucket with the credentials from the
 * keychain, the layer `user/<id>` (or `--layer`, an org layer say), and paths under home — absolute
 * (what a shell makes of `~/Documents`), `~/…`, or relative to home.
 *
 * What must hold: credentials come only from the keychain (never the environment, which --store
 * uses); a path is checked before the bucket is read, and one outside home is a usage error.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { loadCredentials, userPrincipal } from '../credentials/index.js';
import { isStrataError, StrataError } from '../errors.js';
import { isLayerId } from '../repo/names.js';
import { orgS3Store, readSession, type Session } from '../signin/index.js';
import { stringOption, usageError } from './args.js';
import type { Context } from './context.js';
import { stateDirOf } from './commands/command.js';

export const PIT_LAYER_OPTION = { type: 'string', value: '<id>', help: 'the layer: user/<id> or org/<name> (signed in: default user/<you>)' } as const;
export const PIT_STATE_DIR_OPTION = {
  type: 'string',
  value: '<dir>',
  help: 'without --store: the signed-in session of this state folder (default: this user\'s, e.g. ~/.local/state/strata)',
} as const;

export interface Source {
  layer: string;
  /** Set when the command reads the signed-in session's bucket: paths are under its home. */
  session?: Session;
  stateDir?: string;
}

/** The signed-in session, when no store is named; E_USAGE when there is neither. */
export async function signedInSession(ctx: Context): Promise<{ session: Session; stateDir: string } | undefined> {
  if (ctx.hasStoreUrl) return undefined;
  const stateDir = stateDirOf(ctx);
  try {
    return { session: await readSession(stateDir), stateDir };
  } catch (err) {
    if (isStrataError(err, 'E_NOT_SIGNED_IN')) throw usageError(`no store: pass --store <url> or set STRATA_STORE, or sign in (strata login; nobody is signed in with ${stateDir})`, ctx.command);
    throw err;
  }
}

/** --layer as given, else the session user's layer; a session's credentials become the context's store. */
export async function openSource(ctx: Context, signed: { session: Session; stateDir: string } | undefined): Promise<Source> {
  if (signed === undefined) return { layer: ctx.layer };
  const given = stringOption(ctx.args, 'layer');
  const layer = given === undefined ? `user/${signed.session.user}` : given;
  if (!isLayerId(layer)) throw usageError(`invalid layer ${JSON.stringify(layer)}: must be user/<id> or org/<name>`, ctx.command);
  const { session } = signed;
  ctx.useStore(orgS3Store(session.org, await loadCredentials(session.org.org, userPrincipal(session.user))));
  return { layer, session, stateDir: signed.stateDir };
}

/**
 * A path the user named under the signed-in home, as layer-relative `/` parts joined ('' is home
 * itself): absolute paths must lie inside home, `~` and `~/…` name home, others are relative to it.
 */
export function homePath(session: Session, raw: string, command: string): string {
  const home = resolve(session.home);
  let rel = raw;
  if (raw === '~' || raw.startsWith('~/')) rel = raw.slice(2);
  else if (isAbsolute(raw)) {
    rel = relative(home, resolve(raw)).split(sep).join('/');
    if (rel === '..' || rel.startsWith('../') || isAbsolute(rel)) throw usageError(`${JSON.stringify(raw)} is not inside ${home}, the signed-in home`, command);
  }
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw usageError(`${JSON.stringify(raw)} must not contain ".."`, command);
  return parts.join('/');
}

/**
 * A path missing from a user layer's snapshot of a signed-in home may be an org file the user
 * never changed: a restore reads one layer, and that file is in its org layer, not in theirs.
 */
export function notInUserLayer(err: unknown, source: Source): unknown {
  if (!isStrataError(err, 'E_NOT_IN_SNAPSHOT') || source.session === undefined || !source.layer.startsWith('user/')) return err;
  const org = (source.session.laid?.org ?? []).map((l) => l.layer);
  if (org.length === 0) return err;
  const hint = `${err.message} of ${source.layer}; a file that came from an org layer and was never changed is in that layer: --layer ${org.join(' or --layer ')}`;
  return new StrataError(err.code, hint, { ...(err.path === undefined ? {} : { path: err.path }) }, { cause: err });
}
