/**
 * `strata admin forget --user <id> | --layer <org/name> | --all --keep-… [--grace <duration>] [--dry-run]`:
 * deletes the layer's snapshots that the retention policy does not keep and that no device head,
 * no merge between heads and no writer at work needs (sync/repo/forget-plan.ts says which are
 * kept whatever the policy says, and why). Only snapshot objects go; the data stays.
 *
 * Prints what it forgot (with --dry-run: would forget) and what it kept and why; exit code 0 when
 * done, 1 when it stopped (a snapshot or head it cannot read: E_FORGET_UNSAFE, nothing deleted; a
 * request that failed: the message says how many went before), 2 for a bad option or no --keep-…. With --all,
 * every layer in the bucket, one line each (admin-forget-all.ts).
 */
import { checkLayerId } from '../../repo/index.js';
import { forgetSnapshots, type ForgetReport } from '../../repo/forget.js';
import { hasRule, type RetentionPolicy } from '../../repo/forget-policy.js';
import { stringOption, usageError } from '../args.js';
import { counts, forgetAll, layerLine } from './admin-forget-all.js';
import type { Context } from '../context.js';
import { formatTime, shortId } from '../format.js';
import { plural } from '../../../shared/status-text.js';
import { openAdminRepository, userOption, type AdminSub } from './admin-common.js';
import { DEFAULT_GRACE, parseCount, parseGrace } from './admin-gc.js';

const COUNTS = { 'keep-last': 'last', 'keep-daily': 'daily', 'keep-weekly': 'weekly', 'keep-monthly': 'monthly' } as const;

function policyOf(ctx: Context): RetentionPolicy {
  const policy: RetentionPolicy = {};
  for (const [option, rule] of Object.entries(COUNTS)) {
    const text = stringOption(ctx.args, option);
    if (text !== undefined) policy[rule] = parseCount(text, ctx.command, option);
  }
  const within = stringOption(ctx.args, 'keep-within');
  if (within !== undefined) policy.withinMs = parseGrace(within, ctx.command, 'keep-within');
  if (!hasRule(policy)) throw usageError('admin forget needs a policy: --keep-last, --keep-within, --keep-daily, --keep-weekly or --keep-monthly (it never forgets every snapshot)', ctx.command);
  return policy;
}

/** The layer --user or --layer names; undefined for --all (every layer). */
function layerOf(ctx: Context): string | undefined {
  const layer = stringOption(ctx.args, 'layer');
  const all = ctx.args.values.all === true;
  const given = [layer !== undefined, stringOption(ctx.args, 'user') !== undefined, all].filter(Boolean).length;
  if (given !== 1) throw usageError('admin forget needs --user <id>, --layer <org/name> or --all, one of them', ctx.command);
  if (all) return undefined;
  if (layer === undefined) return `user/${userOption(ctx, 'forget')}`;
  try {
    return checkLayerId(layer);
  } catch (err) {
    throw usageError(err instanceof Error ? err.message : String(err), ctx.command);
  }
}

const WHY = { head: 'a head points at it or at its child', young: 'younger than the grace period, or its child is', merge: 'a merge between the heads walks it' };

function printReport(ctx: Context, r: ForgetReport, grace: string): void {
  ctx.print(`${layerLine(counts(r), r.dryRun)} (grace ${grace})`);
  for (const s of r.forgotten) ctx.print(`  ${r.dryRun ? 'forget' : 'forgot'}  ${shortId(s.id)}  ${formatTime(s.time)}  ${s.device}`);
  for (const s of r.kept) ctx.print(`  keep    ${shortId(s.id)}  ${formatTime(s.time)}  ${s.device}  (${s.rules.join(', ')})`);
  for (const s of r.protected) ctx.print(`  keep    ${shortId(s.id)}  ${formatTime(s.time)}  ${s.device}  (${WHY[s.why]})`);
  if (r.spared.length > 0) ctx.print(`  spared ${plural(r.spared.length, 'snapshot')} a device made needed while forget ran`);
}

export const forgetSub: AdminSub = {
  name: 'forget',
  args: '',
  positionals: 0,
  usage: 'forget --user <id> | --layer <org/name> | --all [--keep-last <n>] [--keep-within <duration>] [--keep-daily <n>] [--keep-weekly <n>] [--keep-monthly <n>] [--grace <duration>] [--dry-run]',
  options: ['user', 'layer', 'all', 'keep-last', 'keep-within', 'keep-daily', 'keep-weekly', 'keep-monthly', 'grace', 'dry-run'],
  summary: "delete a layer's snapshots the policy does not keep; what a device's head points at and what merges between heads need always stay. The data stays",
  async run(ctx) {
    const layer = layerOf(ctx);
    const policy = policyOf(ctx);
    const grace = stringOption(ctx.args, 'grace') ?? DEFAULT_GRACE;
    const graceMs = parseGrace(grace, ctx.command);
    const dryRun = ctx.args.values['dry-run'] === true;
    const repo = await openAdminRepository(ctx, { loadIndex: false });
    if (layer === undefined) return forgetAll(ctx, repo, { policy, graceMs, dryRun }, grace);
    const r = await forgetSnapshots(repo, layer, { policy, graceMs, dryRun });
    if (ctx.json) ctx.printJson({ ...r, graceMs });
    else printReport(ctx, r, grace);
  },
};
