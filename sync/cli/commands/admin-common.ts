/**
 * What the `strata admin` subcommands share: their shape, the admin's store and device, and the
 * options every one of them checks the same way.
 *
 * Admin credentials are not the users' (DESIGN §6): admins write profiles and other users'
 * layers. With --org <file|url> the bucket is the org config's and the credentials are the admin's
 * from the keychain (`strata admin login`); without it the store comes from --store / STRATA_STORE
 * with credentials from the environment, like every other command. openAdmin is the one place that
 * choice is made; with --org its errors say what the admin should do (admin login again, check the
 * org config's bucket), never just `strata init`, which on a mistyped bucket would make a second
 * repository.
 */
import { checkAdminDevice, checkUserId } from '../../profile/index.js';
import { ADMIN, loadCredentials } from '../../credentials/index.js';
import { isStrataError, StrataError } from '../../errors.js';
import { openRepository, type OpenOptions, type Repository } from '../../repo/index.js';
import { loadOrgConfig, openOrgStore } from '../../signin/index.js';
import { stringOption, usageError } from '../args.js';
import type { Context } from '../context.js';
import type { OrgConfig } from '../../../shared/org-config.js';
import { plural } from '../../../shared/status-text.js';

export interface AdminSub {
  /** As typed after `strata admin`: "preload", "layer publish". */
  name: string;
  /** Positional arguments after the name, as shown in help ("<org/name>"), and how many. */
  args: string;
  positionals: number;
  /** Its usage after `strata admin`, for `strata admin help`. */
  usage: string;
  /** The admin options it takes (the global ones are always allowed). */
  options: readonly string[];
  summary: string;
  /** Its exit code when not 0 (EXIT_LEFT_OUT). */
  run(ctx: Context, positionals: string[]): Promise<number | void>;
}

/** The one place admin commands open the bucket; `org` is the org config when given (--org). */
export async function openAdmin(ctx: Context, opts: OpenOptions = {}): Promise<{ repo: Repository; org: OrgConfig | undefined }> {
  const source = stringOption(ctx.args, 'org');
  if (source === undefined) return { repo: await ctx.openRepository(opts), org: undefined };
  if (stringOption(ctx.args, 'store') !== undefined) throw usageError('give --org or --store, not both', ctx.command);
  const config = await loadOrgConfig(source);
  const login = `strata admin login --org ${source}`;
  const creds = await loadCredentials(config.org, ADMIN).catch((err: unknown) => {
    if (!isStrataError(err, 'E_NO_CREDENTIALS')) throw err;
    throw new StrataError('E_NO_CREDENTIALS', `no admin credentials for org ${config.org} in the keychain: run ${login} first`, {}, { cause: err });
  });
  const org = openOrgStore(config, creds);
  ctx.onClose(() => org.close());
  try {
    return { repo: await openRepository(org.store, opts), org: config };
  } catch (err) {
    // Said as an admin must act on it: new keys, or the org config's bucket (never an init where a typo points).
    if (isStrataError(err, 'E_AUTH')) {
      throw new StrataError('E_CREDENTIALS_REFUSED', `${org.location} refused the admin credentials in the keychain (a wrong or revoked key, or no access to the bucket): ${login} stores new ones`, {}, { cause: err });
    }
    if (isStrataError(err, 'E_NO_REPOSITORY')) {
      throw new StrataError('E_NO_REPOSITORY', `no repository at ${org.location}: check store.bucket and store.prefix in the org config ${source}, or create it (strata init --store '${org.url}')`, { key: err.key }, { cause: err });
    }
    throw err;
  }
}

export async function openAdminRepository(ctx: Context, opts: OpenOptions = {}): Promise<Repository> {
  return (await openAdmin(ctx, opts)).repo;
}

/**
 * What a preload or publish leaves out, and says so: the built-in exclusions, plus, when --org
 * gave its config (`withOrg`), the org's (policies.exclude) and whatever lies outside its
 * folders, as a signed-in device would never sync or lay them.
 */
export function printExcluded(ctx: Context, excluded: readonly string[], withOrg: boolean): void {
  if (excluded.length === 0) return;
  const shown = excluded.slice(0, MAX_SHOWN_EXCLUDED).join(', ');
  const more = excluded.length > MAX_SHOWN_EXCLUDED ? `, and ${excluded.length - MAX_SHOWN_EXCLUDED} more (--json lists them)` : '';
  const by = withOrg ? "the exclusion rules or outside the org config's folders" : 'the exclusion rules';
  ctx.print(`  left out by ${by}: ${plural(excluded.length, 'path')}: ${shown}${more}`);
}

const MAX_SHOWN_EXCLUDED = 10;

/**
 * One line of a preload's or publish's kept pairs: two versions of a path, or two names that
 * differ only in case, said as such (the layer holds one at `caseOf`, the other at `copy`).
 * `copyOf` says whose version went to the copy: a preload's template or the layer.
 */
export function keptLine(k: { path: string; copy: string; caseOf?: string; copyOf?: 'template' | 'layer' }): string {
  const whose = k.copyOf === undefined ? '' : k.copyOf === 'template' ? "the template's " : "the layer's ";
  if (k.caseOf === undefined) return `  kept both versions of ${k.path}, which the layer holds otherwise: ${whose || 'the other '}is ${k.copy}`;
  if (k.caseOf === k.path) return `  two folders whose names differ only in case both held ${k.path}: kept ${whose || 'one '}as ${k.copy}`;
  return `  ${k.caseOf} and ${k.path} differ only in case: kept ${whose}${k.path} as ${k.copy}`;
}

/**
 * The exit code of a preload or publish that stored the folder but left out entries no layer can
 * hold (a FIFO, a socket, a name other systems refuse, a file it could not read), each named in a
 * warning: a script that preloads new hires must be able to tell that a file did not go in. What
 * the exclusion rules leave out is meant to be, and does not count.
 */
export const EXIT_LEFT_OUT = 4;

export function leftOutCode(skipped: readonly unknown[]): number {
  return skipped.length > 0 ? EXIT_LEFT_OUT : 0;
}

/** --device when given (`admin-<name>`), else `admin`: the device id of the heads admin writes create. */
export function adminDevice(ctx: Context): string {
  const given = stringOption(ctx.args, 'device');
  try {
    return checkAdminDevice(given);
  } catch (err) {
    throw usageError(err instanceof Error ? err.message : String(err), ctx.command);
  }
}

export function requiredString(ctx: Context, name: string, sub: string): string {
  const v = stringOption(ctx.args, name);
  if (v === undefined || v === '') throw usageError(`admin ${sub} needs --${name}`, ctx.command);
  return v;
}

/** --user, required and a valid user id (what follows `user/` in a layer id). */
export function userOption(ctx: Context, sub: string): string {
  const user = requiredString(ctx, 'user', sub);
  try {
    return checkUserId(user);
  } catch (err) {
    throw usageError(err instanceof Error ? err.message : String(err), ctx.command);
  }
}
