/**
 * The settings mirror's standing in the agent's status (AgentStatus.settings), so that the UI shows
 * a setting that is not synced, or settings that cannot sync at all, as it shows a folder's error.
 * The mirror runs around the agent's passes (sync/signin/settings.ts) and tells each run here;
 * `around` gives an AgentApi whose every status carries what this report holds, and which pushes a
 * status when that changes.
 *
 * What must hold: a problem of the last run stands (`standing`); one a later run no longer has stays
 * as news until the agent stops, since some say what happened once (a value the store refused,
 * which that run replaced in the layer by this machine's) — at most MAX_EARLIER of them, the
 * newest. A failed run (the store unreachable) says why until a run works, and leaves the problems
 * as the last run that worked saw them.
 */
import type { AgentApi, AgentEvent, AgentStatus, ApiError, SettingsProblemInfo, SettingsStatus } from '../../shared/agent-api.js';
import { apiError } from './http.js';

/** How many problems that no longer stand a status keeps. */
export const MAX_EARLIER = 20;

interface Problem {
  key: string;
  message: string;
  locked?: true;
}

export type SettingsRun = { problems: readonly Problem[] } | { error: unknown };

export class SettingsReport {
  private error: ApiError | undefined;
  /** Every problem seen, by key and message, the newest last. */
  private readonly seen = new Map<string, SettingsProblemInfo>();
  private readonly changed = new Set<() => void>();

  constructor(private readonly store: string) {}

  /** Takes in one run of the mirror. */
  ran(run: SettingsRun): void {
    const before = JSON.stringify(this.status());
    if ('error' in run) this.error = apiError(run.error);
    else {
      this.error = undefined;
      for (const p of this.seen.values()) p.standing = false;
      for (const { key, message, locked } of run.problems) {
        const id = `${key}\0${message}`;
        this.seen.delete(id);
        this.seen.set(id, { key, message, ...(locked ? { locked } : {}), standing: true });
      }
      const earlier = [...this.seen].filter(([, p]) => !p.standing);
      for (const [id] of earlier.slice(0, Math.max(0, earlier.length - MAX_EARLIER))) this.seen.delete(id);
    }
    if (JSON.stringify(this.status()) !== before) for (const fn of this.changed) fn();
  }

  status(): SettingsStatus {
    const all = [...this.seen.values()].reverse().map((p) => ({ ...p }));
    return { store: this.store, ...(this.error ? { error: this.error } : {}), problems: [...all.filter((p) => p.standing), ...all.filter((p) => !p.standing)] };
  }

  /** `api`, its statuses carrying this report; a change of the report pushes a status to its subscribers. */
  around(api: AgentApi): AgentApi {
    const add = (status: AgentStatus): AgentStatus => ({ ...status, settings: this.status() });
    return {
      call: async (command, arg) => {
        const result = await api.call(command, arg);
        return command === 'conflicts' ? result : (add(result as AgentStatus) as typeof result);
      },
      subscribe: (listener: (event: AgentEvent) => void) => {
        const off = api.subscribe((e) => listener(e.type === 'status' ? { type: 'status', status: add(e.status) } : e));
        const push = (): void => {
          api.call('status', {}).then(
            (status) => listener({ type: 'status', status: add(status) }),
            // The agent reports its own failures in the statuses it pushes.
            () => undefined,
          );
        };
        this.changed.add(push);
        return () => {
          off();
          this.changed.delete(push);
        };
      },
    };
  }
}
