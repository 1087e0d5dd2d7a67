/**
 * `strata admin users [--user <id>]`: for each user (everyone with a user layer or a profile):
 * display name, assigned org layers, when an admin preloaded the layer (an admin device's head is
 * no device: a new hire with only that has not signed in yet), the devices syncing it, newest
 * first, with the time each last wrote its head (those signed out, as VDI sessions end, marked,
 * and past a few summed up), the layer's size (its latest snapshot's regular files, not symlinks,
 * and their bytes, which every kind of write counts alike) and its number of snapshots. Every time
 * shown is the bucket's clock, not a device's or an admin's. A broken profile or head is a warning
 * on stderr and a `problems` entry; the other users are still listed.
 */
import { StrataError } from '../../errors.js';
import { userReport, userReports, type DeviceSync, type UserReport } from '../../profile/index.js';
import type { Repository } from '../../repo/index.js';
import { formatBytes, formatTime, shortId, columns } from '../format.js';
import { stringOption } from '../args.js';
import { openAdminRepository, userOption, type AdminSub } from './admin-common.js';
import { plural } from '../../../shared/status-text.js';

function userJson(r: UserReport) {
  return {
    user: r.user,
    displayName: r.profile?.displayName ?? '',
    hasProfile: r.profile !== undefined,
    layers: r.profile?.layers ?? [],
    profileUpdated: r.profile?.updated ?? null,
    devices: r.devices,
    preloads: r.preloads,
    latest: r.latest,
    files: r.latest?.files ?? null,
    bytes: r.latest?.bytes ?? null,
    snapshots: r.snapshots,
    problems: r.problems.map(String),
  };
}

function userLines(r: UserReport): string[] {
  const name = r.profile?.displayName;
  const lines = [name ? `${r.user} (${name})` : r.user];
  const layers = r.profile ? (r.profile.layers.length > 0 ? r.profile.layers.join(', ') : 'none') : 'none (no profile)';
  lines.push(`  layers     ${layers}`);
  lines.push(`  size       ${sizeText(r)}`, `  snapshots  ${r.snapshots}`);
  if (r.preloads.length > 0) lines.push(...columns(r.preloads.map((p) => ['  preloaded', `${formatTime(p.at)} by ${p.device}`, shortId(p.snapshot)])));
  if (r.devices.length === 0) lines.push(r.preloads.length > 0 ? '  devices    none: not signed in yet' : '  devices    none');
  else lines.push(...deviceLines(r.devices));
  return lines;
}

/**
 * The latest snapshot's size; a layer with snapshots but no readable latest one is of unknown
 * size, never "empty" (its snapshots' problems are the warnings printed before).
 */
function sizeText(r: UserReport): string {
  const s = r.latest;
  if (s) return `${typeof s.files === 'number' ? plural(s.files, 'file') : '? files'} (not counting symlinks), ${s.bytes === null ? '? bytes' : formatBytes(s.bytes)} (snapshot ${shortId(s.snapshot)}, ${formatTime(s.written)})`;
  if (r.snapshots === 0) return 'empty (no snapshot yet)';
  return r.problems.length > 0 ? 'unknown: no snapshot a head points at could be read (see the warnings)' : 'unknown: no head points at any of its snapshots';
}

/** Signed-out devices shown before the rest are summed up: a VDI user's sessions are each a device. */
const SHOWN_SIGNED_OUT = 5;

/** Every signed-in device, then the newest signed-out ones, newest first (as the report orders them). */
function deviceLines(devices: readonly DeviceSync[]): string[] {
  const out = devices.filter((d) => d.signedOut);
  const shown = devices.filter((d) => !d.signedOut || out.indexOf(d) < SHOWN_SIGNED_OUT);
  const rows = shown.map((d) => ['  device', d.device, `${d.signedOut ? 'signed out' : 'last sync'} ${formatTime(d.lastSync)}`, shortId(d.snapshot)]);
  const hidden = out.slice(SHOWN_SIGNED_OUT);
  const oldest = hidden.at(-1);
  const more = oldest ? [`  …          ${hidden.length} more signed out, the oldest ${formatTime(oldest.lastSync)} (--json lists them all)`] : [];
  return [...columns(rows), ...more];
}

/** The report of `user`; E_NO_USER when the bucket has nothing of theirs (a mistyped id must not look like a user who never signed in). */
async function knownUser(repo: Repository, user: string): Promise<UserReport> {
  const r = await userReport(repo, user);
  if (r.profile === undefined && r.devices.length === 0 && r.preloads.length === 0 && r.snapshots === 0 && r.problems.length === 0) {
    throw new StrataError('E_NO_USER', `no user ${user}: neither a profile nor a user layer (admin assign or admin preload makes them)`, { key: `layers/user/${user}/` });
  }
  return r;
}

export const usersSub: AdminSub = {
  name: 'users',
  usage: 'users [--user <id>]',
  args: '',
  positionals: 0,
  options: ['user'],
  summary: "show each user's name, org layers, preloads, devices with last sync, layer size and snapshots (--user: one)",
  async run(ctx) {
    const one = stringOption(ctx.args, 'user') === undefined ? undefined : userOption(ctx, 'users');
    const repo = await openAdminRepository(ctx, { loadIndex: false });
    const { users, errors } = one === undefined ? await userReports(repo) : { users: [await knownUser(repo, one)], errors: [] };
    for (const err of [...errors, ...users.flatMap((u) => u.problems)]) ctx.warn(err);
    if (ctx.json) {
      ctx.printJson({ users: users.map(userJson) });
      return;
    }
    if (users.length === 0) {
      ctx.print('no users');
      return;
    }
    ctx.print(...users.flatMap((u, i) => (i === 0 ? userLines(u) : ['', ...userLines(u)])));
  },
};
