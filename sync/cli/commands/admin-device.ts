/**
 * `strata admin device retire <device> --user <id> [--force]`: deletes a device's head in a user
 * layer, for a device that is gone (a PC thrown away, a laptop lost). Its head holds back every
 * snapshot from it up to where the other devices left it (forget-plan.ts, rule 3), so `admin
 * forget` can release that history only once the head is gone.
 *
 * Must hold:
 * - Nothing is lost: a head is deleted only when another head points at its snapshot or descends
 *   from it (what the device wrote is in the layer without it), whatever --force says; a head
 *   whose snapshot or whose walk cannot be read is not known to be covered, and stays.
 * - A device that may be in use is not retired by mistake: a head that is not signed out (final)
 *   and that the bucket got within RECENT_MS is refused without --force. Whether a device is
 *   signed in right now cannot be known better than that (a persistent PC keeps a head that is
 *   not final while it is off); a signed-out head, like `admin users` marks it, is retired at any
 *   age.
 * - A head that changed since it was judged (its device synced meanwhile) is not deleted. There
 *   are no conditional deletes: a head written in the short window between the last look and the
 *   delete is deleted all the same, and its device writes it again at its next pass.
 *
 * A retired device that comes back loses nothing: its agent writes its head again from what it
 * last synced (agent/folder.ts), or, if `admin forget` deleted that snapshot meanwhile, syncs
 * with no merge base: what it and the layer hold alike stays, what differs is kept as conflict
 * copies (README, admin device retire).
 */
import { StrataError } from '../../errors.js';
import { layerGraph } from '../../agent/history.js';
import { isAdminDevice } from '../../profile/index.js';
import type { Repository } from '../../repo/index.js';
import { keys, type Head } from '../../repo/types.js';
import { usageError } from '../args.js';
import { formatTime, shortId } from '../format.js';
import { openAdminRepository, userOption, type AdminSub } from './admin-common.js';

/** A head synced within this long, and not signed out, needs --force: its device may be in use. */
export const RECENT_MS = 30 * 24 * 3600_000;

export interface RetireTarget {
  head: Head;
  /** When the bucket got the head (ms); the head's own time where the listing does not say. */
  written: number;
}

/** Why a head may not be retired without --force (undefined: it may). Pure: the caller gives the clock. */
export function inUse(t: RetireTarget, now: number): string | undefined {
  if (t.head.final === true) return undefined;
  const days = Math.floor((now - t.written) / (24 * 3600_000));
  if (now - t.written >= RECENT_MS) return undefined;
  return `it synced ${formatTime(t.written)} (${days} days ago, less than 30) and is not signed out, so it may be in use; --force retires it all the same (a running agent writes its head again at its next pass)`;
}

async function target(repo: Repository, layer: string, device: string): Promise<{ target: RetireTarget; others: Head[] }> {
  const { heads, errors, written } = await repo.listHeads(layer);
  const head = heads.find((h) => h.device === device);
  if (head === undefined) {
    const bad = errors.find((e) => e.key === keys.head(layer, device));
    throw bad ?? new StrataError('E_NO_DEVICE', `${layer} has no device ${device} (admin users lists its devices)`, { key: keys.head(layer, device) });
  }
  return { target: { head, written: written.get(device) ?? Date.parse(head.time) }, others: heads.filter((h) => h.device !== device) };
}

/** Whether another head points at `head`'s snapshot or descends from it. */
async function covered(repo: Repository, head: Head, others: readonly Head[]): Promise<boolean> {
  if (others.some((h) => h.snapshot === head.snapshot)) return true;
  const found = await layerGraph(repo, head.layer).ancestorsAmong(others.map((h) => h.snapshot), [head.snapshot]);
  return found.has(head.snapshot);
}

export const deviceRetireSub: AdminSub = {
  name: 'device retire',
  args: '<device>',
  positionals: 1,
  usage: 'device retire <device> --user <id> [--force]',
  options: ['user', 'force'],
  summary: "delete a gone device's head, so that admin forget can release the history it holds back; refused while another head lacks what it wrote, and without --force for one not signed out that synced within 30 days",
  async run(ctx, [device]) {
    const user = userOption(ctx, 'device retire');
    if (device === undefined || device === '' || isAdminDevice(device)) throw usageError(`admin device retire needs a device of the user, not ${JSON.stringify(device ?? '')} (an admin's head is a preload's record)`, ctx.command);
    const layer = `user/${user}`;
    const repo = await openAdminRepository(ctx, { loadIndex: false });
    const { target: t, others } = await target(repo, layer, device);
    const key = keys.head(layer, device);
    if (!(await covered(repo, t.head, others))) {
      throw new StrataError('E_DEVICE_UNMERGED', `no other head has snapshot ${shortId(t.head.snapshot)} of device ${device} yet: retired, what it wrote last could be forgotten; let another device of ${user} sync first`, { key });
    }
    const busy = ctx.args.values.force === true ? undefined : inUse(t, Date.now());
    if (busy !== undefined) throw new StrataError('E_DEVICE_IN_USE', `device ${device} of ${user}: ${busy}`, { key });
    const again = await target(repo, layer, device);
    if (again.target.head.snapshot !== t.head.snapshot || again.target.head.final !== t.head.final) {
      throw new StrataError('E_HEAD_MOVED', `device ${device} of ${user} synced while retire looked at it (now at ${shortId(again.target.head.snapshot)}): it is in use; nothing retired`, { key });
    }
    await repo.store.delete(key);
    const result = { user, device, snapshot: t.head.snapshot, lastSync: new Date(t.written).toISOString(), signedOut: t.head.final === true };
    if (ctx.json) ctx.printJson({ retired: result });
    else ctx.print(`retired device ${device} of ${user} (${result.signedOut ? 'signed out' : 'last sync'} ${formatTime(result.lastSync)}, head ${shortId(t.head.snapshot)}): admin forget can now release the history it held back`);
  },
};
