/**
 * `strata admin assign --user <id> --layers org/a,org/b [--display-name <name>] [--force]`:
 * writes the user's profile. The layers replace the assigned ones (lowest first; `--layers ''`
 * assigns none); an option left out keeps what the profile had. A layer given that was never
 * published is refused unless --force (an admin may assign a layer about to be published), and so is a
 * profile in the bucket that cannot be read (--force overwrites it).
 */
import { StrataError } from '../../errors.js';
import { MAX_DISPLAY_NAME, PROFILE_VERSION, isOrgLayer, isPublished, readProfile, writeProfile, type Profile } from '../../profile/index.js';
import { keys } from '../../repo/types.js';
import { isObjectError } from '../../store/index.js';
import { stringOption, usageError } from '../args.js';
import type { Context } from '../context.js';
import { openAdminRepository, userOption, type AdminSub } from './admin-common.js';


/**
 * --layers as a list: comma-separated org layer ids, no duplicates; '' is none. An empty item
 * (`org/a,,org/b`, a stray comma at either end) is refused: it is most often a layer name lost
 * from a script's variable, and assigning what is left would silently take that layer away.
 */
export function parseLayers(ctx: Context, value: string): string[] {
  if (value.trim() === '') return [];
  const layers = value.split(',').map((s) => s.trim());
  if (layers.includes('')) throw usageError(`--layers: ${JSON.stringify(value)} has an empty item (a stray comma); give org/<name> ids separated by single commas, or '' for none`, ctx.command);
  const seen = new Set<string>();
  for (const layer of layers) {
    if (!isOrgLayer(layer)) throw usageError(`--layers: ${JSON.stringify(layer)} is not an org layer id (org/<name>)`, ctx.command);
    if (seen.has(layer)) throw usageError(`--layers: ${layer} is listed twice`, ctx.command);
    seen.add(layer);
  }
  return layers;
}

function displayNameOption(ctx: Context): string | undefined {
  const name = stringOption(ctx.args, 'display-name');
  // eslint-disable-next-line no-control-regex
  if (name !== undefined && (name.length > MAX_DISPLAY_NAME || /[\u0000-\u001f\u007f]/.test(name))) {
    throw usageError(`--display-name must be at most ${MAX_DISPLAY_NAME} characters without control characters`, ctx.command);
  }
  return name;
}

async function currentProfile(ctx: Context, read: () => Promise<Profile | undefined>, force: boolean): Promise<Profile | undefined> {
  try {
    return await read();
  } catch (err) {
    if (!isObjectError(err)) throw err;
    if (!force) throw new StrataError(err.code, `${err.message}; pass --force to overwrite it`, { key: err.key });
    ctx.warn(`${err.toString()}; overwriting it (--force)`);
    return undefined;
  }
}

export const assignSub: AdminSub = {
  name: 'assign',
  usage: 'assign --user <id> --layers org/a,org/b [--display-name <name>] [--force]',
  args: '',
  positionals: 0,
  options: ['user', 'layers', 'display-name', 'force'],
  summary: "write a user's profile: the org layers they get (--layers, lowest first) and --display-name",
  async run(ctx) {
    const user = userOption(ctx, 'assign');
    const given = stringOption(ctx.args, 'layers');
    const layers = given === undefined ? undefined : parseLayers(ctx, given);
    const displayName = displayNameOption(ctx);
    if (layers === undefined && displayName === undefined) throw usageError('admin assign needs --layers or --display-name', ctx.command);
    const force = ctx.args.values.force === true;
    const repo = await openAdminRepository(ctx, { loadIndex: false });
    const old = await currentProfile(ctx, () => readProfile(repo.store, user), force);
    const assigned = layers ?? old?.layers ?? [];
    // Only the layers given now are checked: kept ones were accepted when they were assigned.
    for (const layer of layers ?? []) {
      if (await isPublished(repo, layer)) continue;
      const why = `org layer ${layer} was never published`;
      if (!force) throw new StrataError('E_LAYER_NOT_PUBLISHED', `${why}: publish it first (strata admin layer publish) or pass --force`, { key: keys.heads(layer) });
      ctx.warn(`${why}; assigned anyway (--force)`);
    }
    const profile: Profile = { version: PROFILE_VERSION, user, displayName: displayName ?? old?.displayName ?? '', layers: assigned, updated: new Date().toISOString() };
    await writeProfile(repo.store, profile);
    if (ctx.json) {
      ctx.printJson(profile);
      return;
    }
    const who = profile.displayName ? `${user} (${profile.displayName})` : user;
    ctx.print(assigned.length > 0 ? `${who}: org layers ${assigned.join(', ')}` : `${who}: no org layers`);
  },
};
