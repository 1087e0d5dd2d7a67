/**
 * Flushing through a running agent before sign-out: ask it for a pass of the whole of each folder
 * (syncNow, rescan "all": its watcher reports a file only once it has been quiet a moment, so one
 * saved as the session ends is in no pass of what it reported) and wait until a pass that started
 * after the request has completed for every folder. Then the agent is held (flushAndHold): paused,
 * so that nothing it writes comes after the sign-out's last steps, yet running, so that a step that
 * fails leaves it as the user had it (release).
 *
 * How "after the request" is known: each folder numbers its passes as they begin (`passes`; an
 * attempt to open the bucket or the folder that failed is one), and says which one last ended in
 * sync (`lastSyncedPass`). The status syncNow answers with holds the number of the last pass begun
 * then, so the next number is the first pass that began after the request. The numbers, not the
 * order statuses arrive in: the answer and the event stream come over different connections, and
 * the statuses of a pass that has run may arrive before the answer that asked for it. Nor a time:
 * one saved before the clock went back would be newer than every pass to come. A pass that ends in
 * error, offline or held for a mass-delete confirmation fails the flush: signing out then would
 * leave changes only on this machine; so does a pause of the agent that cut it off, or that came
 * before it began (a status asked for then says so; one from the stream may be older than the
 * flush's resume). A paused agent is resumed first: signing out is the user asking for the flush.
 * A flush that fails pauses it again: nothing is signed out, and the agent must be left as the
 * user had it (or the error says it could not be).
 */
import type { AgentStatus, FolderStatus, SyncState } from '../../shared/agent-api.js';
import { errorLine } from '../../shared/status-text.js';
import type { ControlClient } from '../control/index.js';
import { StrataError } from '../errors.js';
import { logoutPaused, recordLogoutPause, removeLogoutPause } from './logout-pause.js';

const BUSY: readonly SyncState[] = ['scanning', 'uploading', 'downloading'];

interface Wait {
  root: string;
  /** The number of the first pass that began after the request (FolderStatus.passes). */
  first: number;
  /** A pass from `first` on ended in sync: it stays so whatever older status is read after it. */
  synced: boolean;
}

/**
 * What `f` says of the wait: undefined while no pass from `w.first` on has ended, or one did not
 * sync and will be followed by another (a pass cut short by changes on the disk); else the error
 * it ended in, or 'synced'.
 */
function outcome(w: Wait, f: FolderStatus): 'synced' | StrataError | undefined {
  if ((f.lastSyncedPass ?? 0) >= w.first) return 'synced';
  if (f.passes < w.first || BUSY.includes(f.state)) return undefined;
  if (f.state === 'paused') return pausedError(f.root);
  return outcomeError(f);
}

const pausedError = (root: string): StrataError => new StrataError('E_FLUSH_FAILED', 'the agent was paused while it flushed; nothing was signed out — resume it and try again', { path: root });

function outcomeError(f: FolderStatus): StrataError | undefined {
  if (f.pendingDeletes) {
    return new StrataError('E_FLUSH_HELD', `a sync pass waits for a confirmation to delete ${f.pendingDeletes.files} of ${f.pendingDeletes.of} files (strata status); nothing was signed out`, { path: f.root });
  }
  if (f.state === 'error' || f.state === 'offline') {
    return new StrataError('E_FLUSH_FAILED', `could not flush pending changes (${f.error ? errorLine(f.error) : f.state}); nothing was signed out — try again when the bucket is reachable`, { path: f.root });
  }
  return undefined;
}

/** The commands that pause and resume the agent (with its state dir where it is not the default), for messages. */
export interface AgentCommands {
  pause: string;
  resume: string;
}

/**
 * Flushes through the agent; `resumed`: it was paused, and is not any more. `pause`: the command
 * that pauses it, said if a failed flush cannot pause it again.
 */
export async function flushThroughAgent(client: ControlClient, timeoutMs: number, pause: string): Promise<{ resumed: boolean }> {
  const resumed = { resumed: false };
  try {
    await flushPass(client, timeoutMs, resumed);
  } catch (err) {
    if (!resumed.resumed) throw err;
    return pausedAgain(client, err, pause);
  }
  return resumed;
}

/** An agent flushed, then paused for the sign-out's last steps. */
export interface HeldAgent {
  /** The user had it paused (it was resumed for the flush only). */
  wasPaused: boolean;
  /**
   * `err` with `note`, once the agent is as the user had it again (resumed, unless it was paused
   * before); or saying it could not be, and the command that resumes it.
   */
  release(err: unknown, note: string): Promise<never>;
}

/** Where the agent is: its state dir, and its pid (for the record of a sign-out's pause). */
export interface HoldTarget {
  stateDir: string;
  pid: number;
}

/**
 * Flushes through the agent (flushThroughAgent), then pauses it: it must not write again while the
 * sign-out finishes (a head marked final must stay this device's last write). A failure leaves it
 * as the user had it, and says so if it could not. A pause the user had not made is recorded as
 * the sign-out's first (logout-pause.ts), and one that an earlier sign-out left is undone.
 */
export async function flushAndHold(client: ControlClient, timeoutMs: number, commands: AgentCommands, target: HoldTarget): Promise<HeldAgent> {
  await undoLeftPause(client, target.stateDir);
  const { resumed } = await flushThroughAgent(client, timeoutMs, commands.pause);
  const release = (err: unknown, note: string): Promise<never> => (resumed ? Promise.reject(withNote(err, note)) : resumeHeld(client, commands, target.stateDir, err, note));
  if (!resumed) await recordLogoutPause(target.stateDir, target.pid);
  // A pause that failed may have happened all the same: the agent is left as the user had it.
  await client.call('pause', {}).catch((err: unknown) => (resumed ? pausedAgain(client, err, commands.pause) : release(err, '')));
  return { wasPaused: resumed, release };
}

/**
 * `err` with `note`, once the agent, which the user had running and the sign-out paused, runs again
 * and the record of that pause is gone; or saying it could not be resumed, and how to.
 */
async function resumeHeld(client: ControlClient, commands: AgentCommands, stateDir: string, err: unknown, note: string): Promise<never> {
  const again = await client.call('resume', {}).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (again !== undefined) throw withNote(err, `${note}; the agent, paused for the sign-out, could not be resumed (${messageOf(again)}): resume it (${commands.resume})`);
  // The record must go with the pause it speaks for: left behind, a pause the user makes later would
  // be taken for a sign-out's (the next sign-out resumes it for good). The session host removes it
  // as it serves the resume, or fails the resume saying it could not (logout-pause.ts
  // resumingDrops); this is for an agent served otherwise, where a failure is left unsaid: err is
  // what the user must read.
  await removeLogoutPause(stateDir).catch(() => undefined);
  throw withNote(err, note);
}

/**
 * An agent paused by a sign-out cut off (logout-pause.ts), which the user had running: resumed, so
 * that the flush takes it for what it was. One found running makes the record stale: dropped.
 */
async function undoLeftPause(client: ControlClient, stateDir: string): Promise<void> {
  if (!(await logoutPaused(stateDir))) return;
  if ((await client.call('status', {})).paused) {
    await client.call('resume', {}).catch((err: unknown) => {
      throw withNote(err, '; the agent, paused by an earlier sign-out that was cut off, could not be resumed for the flush: nothing was signed out');
    });
  }
  await removeLogoutPause(stateDir);
}

/**
 * `err`, once the agent behind `client` (resumed for a flush, paused before) is paused again; or
 * `err` saying it could not be, and `pause` (the command that pauses it).
 */
export async function pausedAgain(client: ControlClient, err: unknown, pause: string): Promise<never> {
  const again = await client.call('pause', {}).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (again === undefined) throw err;
  throw withNote(err, `; the agent, paused before, was resumed for the flush and could not be paused again (${messageOf(again)}): pause it (${pause})`);
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** `err` with `note` added to its message: same code and place (E_FLUSH_FAILED for an error without one). */
export function withNote(err: unknown, note: string): StrataError {
  const where = err instanceof StrataError ? { ...(err.path ? { path: err.path } : {}), ...(err.key ? { key: err.key } : {}) } : {};
  return new StrataError(err instanceof StrataError ? err.code : 'E_FLUSH_FAILED', `${messageOf(err)}${note}`, where, { cause: err });
}

function flushPass(client: ControlClient, timeoutMs: number, resumed: { resumed: boolean }): Promise<void> {
  return new Promise((resolve, reject) => {
    let waits: Wait[] | undefined;
    const early: AgentStatus[] = [];
    let finished = false;
    const finish = (err?: unknown): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      unsubscribe();
      if (err === undefined) resolve();
      else reject(err);
    };
    const timer = setTimeout(() => finish(new StrataError('E_FLUSH_TIMEOUT', `the agent did not finish a sync pass within ${Math.round(timeoutMs / 1000)} s; nothing was signed out`)), timeoutMs);
    const judge = (status: AgentStatus): void => {
      for (const w of waits ?? []) {
        const f = status.folders.find((x) => x.root === w.root);
        if (f === undefined || w.synced) continue;
        const o = outcome(w, f);
        if (o instanceof StrataError) return finish(o);
        if (o === 'synced') w.synced = true;
      }
      if (waits?.every((w) => w.synced)) finish();
    };
    // A pause before the pass began holds it back for good: no status of a pass will come. A status
    // that says paused may be older than the flush's own resume, though (the stream's order is not
    // the answers'): a status asked for now tells.
    let asking: Promise<void> | undefined;
    let askAgain = false;
    const askIfPaused = (): void => {
      if (asking !== undefined) {
        askAgain = true;
        return;
      }
      askAgain = false;
      asking = client.call('status', {}).then((now) => {
        asking = undefined;
        judge(now);
        const unsynced = waits?.find((w) => !w.synced);
        if (now.paused && unsynced !== undefined) finish(pausedError(unsynced.root));
        else if (askAgain) askIfPaused();
      }, finish);
    };
    const onStatus = (status: AgentStatus): void => {
      judge(status);
      if (status.paused && !finished) askIfPaused();
    };
    const unsubscribe = client.subscribe(
      (e) => {
        if (e.type !== 'status') return;
        if (waits === undefined) early.push(e.status);
        else onStatus(e.status);
      },
      (err) => finish(err),
    );
    void (async () => {
      if ((await client.call('status', {})).paused) {
        resumed.resumed = true;
        await client.call('resume', {});
      }
      const now = await client.call('syncNow', { rescan: 'all' });
      waits = now.folders.map((f) => ({ root: f.root, first: f.passes + 1, synced: false }));
      for (const s of early.splice(0)) onStatus(s);
      onStatus(now);
    })().catch(finish);
  });
}
