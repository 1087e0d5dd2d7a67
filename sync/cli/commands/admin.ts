/**
 * `strata admin <subcommand>`: what admins do for users (DESIGN §4), one command whose first
 * positional argument names the task:
 *
 *   preload --user <id> --from <dir>           create or extend a user's layer from a template
 *   layer publish <org/name> --from <dir>      a new version of an org layer
 *   layer list                                 the org layers and their latest versions
 *   assign --user <id> --layers org/a,org/b    the org layers a user gets (their profile)
 *   users [--user <id>]                        users, preloads, devices, last sync, layer size, snapshots
 *   login --org <file|url>                     the admin's credentials into the OS keychain
 *   gc [--grace <duration>] [--listing-lag <duration>] [--max-indexes <n>] [--dry-run]
 *                                              delete packs in no index, past the grace period;
 *                                              merge the indexes, delete the ones merged before
 *   forget --user <id> | --layer <org/name> | --all --keep-… [--grace <duration>] [--dry-run]
 *                                              delete snapshots the policy does not keep; never
 *                                              what a head or a merge between heads needs
 *   device retire <device> --user <id> [--force]
 *                                              delete a gone device's head (admin-device.ts)
 *
 * Each subcommand takes only its own options (anything else is a usage error) besides the global
 * ones and --org (the org config: the bucket, with the admin's keychain credentials); admin writes
 * use the device id `admin` unless --device names another, `admin-<name>` (`admin users` tells an
 * admin's head from a user's device by it).
 */
import { GLOBAL_OPTIONS, usageError } from '../args.js';
import type { Context } from '../context.js';
import { assignSub } from './admin-assign.js';
import { deviceRetireSub } from './admin-device.js';
import { forgetSub } from './admin-forget.js';
import { gcSub } from './admin-gc.js';
import type { AdminSub } from './admin-common.js';
import { layerListSub, layerPublishSub } from './admin-layer.js';
import { adminLoginSub } from './admin-login.js';
import { preloadSub } from './admin-preload.js';
import { usersSub } from './admin-users.js';
import type { Command } from './command.js';

export const ADMIN_SUBCOMMANDS: readonly AdminSub[] = [preloadSub, layerPublishSub, layerListSub, assignSub, usersSub, adminLoginSub, gcSub, forgetSub, deviceRetireSub];

/** The subcommand list `strata admin help` prints. */
export function adminHelp(): string {
  const lines = ['usage:', ...ADMIN_SUBCOMMANDS.flatMap((s) => [`  strata admin ${s.usage}`, `      ${s.summary}`]), '', 'See `strata admin --help` for the options.'];
  return lines.join('\n') + '\n';
}

/** The subcommand the positionals name, and the positionals left for it. */
function pick(ctx: Context): { sub: AdminSub; rest: string[] } {
  const [first, second] = ctx.args.positionals;
  const names = ADMIN_SUBCOMMANDS.map((s) => s.name).join(', ');
  if (first === undefined) throw usageError(`admin needs a subcommand: ${names}`, ctx.command);
  const words = first === 'layer' || first === 'device' ? 2 : 1;
  const name = ctx.args.positionals.slice(0, words).join(' ');
  const sub = ADMIN_SUBCOMMANDS.find((s) => s.name === name);
  if (!sub) {
    const what = words === 2 ? (second === undefined ? `admin ${first} needs ${first === 'layer' ? 'publish or list' : 'retire'}` : `unknown subcommand "${first} ${second}"`) : `unknown subcommand ${JSON.stringify(first)}`;
    throw usageError(`${what} (subcommands: ${names})`, ctx.command);
  }
  const rest = ctx.args.positionals.slice(words);
  if (rest.length < sub.positionals) throw usageError(`admin ${sub.name} needs ${sub.args}`, ctx.command);
  if (rest.length > sub.positionals) throw usageError(`unexpected argument ${JSON.stringify(rest[sub.positionals])} for admin ${sub.name}`, ctx.command);
  for (const [option, value] of Object.entries(ctx.args.values)) {
    if (value === undefined || Object.hasOwn(GLOBAL_OPTIONS, option) || option === 'org' || sub.options.includes(option)) continue;
    throw usageError(`--${option} does not apply to admin ${sub.name}`, ctx.command);
  }
  return { sub, rest };
}

export const adminCommand: Command = {
  name: 'admin',
  summary: 'admin tasks: preload a user layer, publish/list org layers, assign layers, list users, login, gc, forget, retire a device (strata admin help)',
  args: '<preload | layer publish <org/name> | layer list | assign | users | login | gc | forget | device retire <device>>',
  positionals: { min: 0, max: 3 },
  globals: ['store', 'device'],
  globalHelp: { device: 'the device id of the heads admin writes create: admin-<name> (default: admin)' },
  options: {
    user: { type: 'string', value: '<id>', help: 'the user (preload, assign, users, forget, device retire): what follows user/ in the layer id' },
    layer: { type: 'string', value: '<org/name>', help: 'forget: the layer, instead of --user (org/<name>, or user/<id>)' },
    all: { type: 'boolean', help: 'forget: every layer in the bucket (each user\'s and each org layer), a few at once: one line per layer, then a total; exit 1 if any failed (each on stderr), the others still done' },
    'keep-last': { type: 'string', value: '<n>', help: 'forget: keep the n newest snapshots' },
    'keep-within': { type: 'string', value: '<duration>', help: "forget: keep every snapshot dated within this of the layer's newest (30d, 12h)" },
    'keep-daily': { type: 'string', value: '<n>', help: 'forget: keep the newest snapshot of each of the n newest days that have one (UTC)' },
    'keep-weekly': { type: 'string', value: '<n>', help: 'forget: likewise per ISO week (UTC)' },
    'keep-monthly': { type: 'string', value: '<n>', help: 'forget: likewise per calendar month (UTC)' },
    from: { type: 'string', value: '<dir>', help: 'the folder to read (preload: the template; layer publish: the new version)' },
    layers: { type: 'string', value: '<ids>', help: "assign: comma-separated org layers, lowest first ('' for none)" },
    'display-name': { type: 'string', value: '<name>', help: "assign: the user's display name (kept when left out)" },
    force: { type: 'boolean', help: 'assign: allow layers never published, and overwrite an unreadable profile; layer publish: publish a folder without files; device retire: retire a device not signed out that synced within 30 days' },
    org: { type: 'string', value: '<file|url>', help: "the org config: its bucket, with the admin's keychain credentials (see admin login); instead of --store" },
    'secrets-stdin': { type: 'boolean', help: 'login: read the access key id and secret from stdin even at a terminal' },
    grace: {
      type: 'string',
      value: '<duration>',
      help: 'forget: keep a snapshot the bucket got less than this long ago, and its parents (default 24h). gc: delete a pack in no index only once the bucket got it this long ago (24h, 90m, 2d; default 24h): longer than any snapshot upload takes. Packs an index names are never deleted, even if no snapshot uses them (that needs a mark-and-sweep gc, not done yet). Also how old a consolidated index must be before the indexes it merged are deleted, and an unfinished upload (S3 multipart, a folder store\'s temp file) before it is aborted',
    },
    'listing-lag': {
      type: 'string',
      value: '<duration>',
      help: "gc: how long the bucket's listings may lag its writes (default 0s; OpenStack Swift's may: 30s, 5m); gc waits that long after its deletes before its last look at the indexes",
    },
    'max-indexes': {
      type: 'string',
      value: '<n>',
      help: 'gc: merge the indexes into consolidated ones when more than this many are live (not merged into another; default 8). Readers then fetch the consolidated ones and skip what they merged',
    },
    'dry-run': { type: 'boolean', help: 'gc, forget: report what would be removed, written and deleted; change nothing' },
  },
  async run(ctx) {
    if (ctx.args.positionals[0] === 'help' && ctx.args.positionals.length === 1) {
      ctx.io.stdout(adminHelp());
      return;
    }
    const { sub, rest } = pick(ctx);
    return sub.run(ctx, rest);
  },
};
