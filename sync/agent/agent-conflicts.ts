/**
 * The agent's conflict commands (AgentCommands.resolveConflict, resolveConflicts): a conflict the
 * status of a folder lists, ended on the disk by keeping one version or both, the folder's next
 * pass, due at once, syncing it (agent.ts runs them; runtime.ts FolderRuntime.resolveConflict
 * does the disk's part).
 *
 * Must hold: no pass overlaps the change (betweenPasses), and a conflict that pass ended meanwhile
 * is said as gone (E_CONFLICT_GONE), never ended twice; a conflict of several is said and skipped
 * where it cannot be ended, and the rest go on.
 */
import type { AgentStatus, KeepSide, ResolvedConflict, ResolvedConflicts } from '../../shared/agent-api.js';
import { StrataError } from '../errors.js';
import type { FoldedNames } from './keep-both.js';
import { apiError, type FolderRuntime } from './runtime.js';

/** What the conflict commands need of the agent. */
export interface ConflictHost {
  /** The folder synced at `root`, or E_NO_FOLDER. */
  folderAt(root: string): FolderRuntime;
  status(): AgentStatus;
  /** Runs `change` once no pass runs, and starts none before it ends (Agent.betweenPasses). */
  betweenPasses(change: () => Promise<void>): Promise<void>;
  /** Runs `work` with the statuses it would push held back: one is pushed at its end (Agent.quietly). */
  quietly<T>(work: () => Promise<T>): Promise<T>;
}

/** A command's `keep`, checked: which version of a conflict stays (AgentCommands.resolveConflict). */
function keepSide(keep: string): KeepSide {
  if (keep === 'name' || keep === 'copy' || keep === 'both') return keep;
  throw new StrataError('E_USAGE', `keep must be "name", "copy" or "both", not ${JSON.stringify(keep)}`);
}

/**
 * Ends a conflict the status of `root` lists (AgentCommands.resolveConflict), on the disk; the
 * next pass, due at once, syncs it. Not while a pass runs (betweenPasses): it waits for the one
 * running, then looks again, since that pass may have ended the conflict (resolved on another
 * device, or by hand). For keep "both" the answer names where the copy went (besideAs).
 */
export async function resolveConflict(host: ConflictHost, root: string, copy: string, keep: string): Promise<ResolvedConflict> {
  const side = keepSide(keep);
  const f = host.folderAt(root);
  const listed = () => f.status.conflicts.find((c) => c.copy === copy);
  if (listed() === undefined) throw new StrataError('E_NO_CONFLICT', 'this folder lists no such conflict copy', { path: copy });
  let besideAs: string | undefined;
  await host.betweenPasses(async () => {
    const conflict = listed();
    if (conflict === undefined) throw new StrataError('E_CONFLICT_GONE', 'this conflict is no longer listed: a sync pass found it resolved (on another device, or by hand); nothing was changed', { path: copy });
    besideAs = await f.resolveConflict(conflict, side);
  });
  return { ...host.status(), ...(besideAs !== undefined && { besideAs }) };
}

/**
 * Ends the conflicts of `root` named by their copies, or all it lists, each as resolveConflict
 * does (AgentCommands.resolveConflicts): one that cannot be ended is said in `failed` and the
 * rest go on. One status is pushed, at the end, not one per conflict (a folder may list 1,000).
 * Keeping the copy of a file that has more than one among them would put each over the last:
 * those are left, and said.
 */
export async function resolveConflicts(host: ConflictHost, root: string, keep: string, copies?: readonly string[]): Promise<ResolvedConflicts> {
  const side = keepSide(keep);
  const f = host.folderAt(root);
  const asked = new Set(copies ?? f.status.conflicts.map((c) => c.copy));
  const out: ResolvedConflicts = { status: host.status(), resolved: [], failed: [] };
  const failed = (copy: string, err: unknown) => out.failed.push({ copy, error: apiError(err) });
  for (const copy of asked) if (!f.status.conflicts.some((c) => c.copy === copy)) failed(copy, new StrataError('E_NO_CONFLICT', 'this folder lists no such conflict copy', { path: copy }));
  await host.quietly(() =>
    host.betweenPasses(async () => {
      const todo = f.status.conflicts.filter((c) => asked.has(c.copy));
      for (const copy of asked) if (!out.failed.some((x) => x.copy === copy) && !todo.some((c) => c.copy === copy)) failed(copy, new StrataError('E_CONFLICT_GONE', 'this conflict is no longer listed: a sync pass found it resolved (on another device, or by hand); nothing was changed', { path: copy }));
      const folded: FoldedNames = new Map();
      const copiesOf = new Map<string, number>();
      for (const c of todo) copiesOf.set(c.path, (copiesOf.get(c.path) ?? 0) + 1);
      for (const c of todo) {
        const others = (copiesOf.get(c.path) ?? 0) - 1;
        if (side === 'copy' && others > 0) {
          failed(c.copy, new StrataError('E_USAGE', `${others + 1} conflict copies of ${c.path} are among these: keep the copy of one by itself, or keep both`, { path: c.copy }));
          continue;
        }
        try {
          const besideAs = await f.resolveConflict(c, side, folded);
          out.resolved.push({ path: c.path, copy: c.copy, ...(besideAs !== undefined && { besideAs }) });
        } catch (err) {
          failed(c.copy, err);
        }
      }
    }),
  );
  out.status = host.status();
  return out;
}
