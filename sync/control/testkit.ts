/**
 * A fake agent for tests of the control endpoint and the CLI commands that use it (not used by
 * the agent): it keeps an AgentStatus in memory, answers commands the way the Agent API says an
 * agent must (idempotent, answering with the status after the command), and pushes a status
 * event after every change. resolveConflicts ends every conflict asked for that is listed (keep
 * "both" names the copy `<path> (kept)`) and fails the others with E_NO_CONFLICT.
 */
import {
  overallState,
  type AgentApi,
  type AgentEvent,
  type AgentStatus,
  type CommandArg,
  type CommandName,
  type CommandResult,
  type FolderStatus,
} from '../../shared/agent-api.js';
import { StrataError } from '../errors.js';

export function folderStatus(root: string, over: Partial<FolderStatus> = {}): FolderStatus {
  return { root, layer: 'user/alice', state: 'idle', conflicts: [], files: 0, syncedPasses: 0, passes: 0, ...over };
}

export class FakeAgent implements AgentApi {
  /** Every command received, in order, with its argument. */
  readonly calls: { command: CommandName; arg: unknown }[] = [];
  private readonly listeners = new Set<(event: AgentEvent) => void>();
  /** When set, every command fails with it (only `failCommand`, when that is set). */
  failWith: unknown;
  failCommand?: CommandName;
  /** When set, `holdCommand` makes its change, then answers only once this settles (a pause waiting for a slow pass). */
  hold?: Promise<void>;
  holdCommand?: CommandName;
  status: AgentStatus;

  constructor(folders: FolderStatus[] = [folderStatus('/home/alice/Documents')], deviceId = 'test-device') {
    this.status = { deviceId, paused: false, state: 'idle', folders };
    this.status.state = overallState(folders.map((f) => f.state), false);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  async call<C extends CommandName>(command: C, arg: CommandArg<C>): Promise<CommandResult<C>> {
    this.calls.push({ command, arg });
    if (this.failWith !== undefined && (this.failCommand ?? command) === command) throw this.failWith;
    const answer = this.answer(command, arg) as CommandResult<C>;
    if (this.hold !== undefined && this.holdCommand === command) await this.hold;
    return answer;
  }

  private answer(command: CommandName, arg: unknown): unknown {
    switch (command) {
      case 'status':
        return this.status;
      case 'pause':
      case 'resume':
        this.update({ paused: command === 'pause' });
        return this.status;
      case 'syncNow':
        this.update({});
        return this.status;
      case 'conflicts':
        return this.status.folders.flatMap((f) => f.conflicts);
      case 'resolveConflict': {
        const { root, copy, keep } = arg as CommandArg<'resolveConflict'>;
        const folder = this.status.folders.find((f) => f.root === root);
        if (!folder) throw new StrataError('E_NO_FOLDER', 'is not a synced folder', { path: root });
        const path = folder.conflicts.find((c) => c.copy === copy)?.path;
        folder.conflicts = folder.conflicts.filter((c) => c.copy !== copy);
        this.update({});
        return { ...this.status, ...(keep === 'both' && path !== undefined && { besideAs: `${path} (kept)` }) };
      }
      case 'resolveConflicts': {
        const { root, keep, copies } = arg as CommandArg<'resolveConflicts'>;
        const folder = this.status.folders.find((f) => f.root === root);
        if (!folder) throw new StrataError('E_NO_FOLDER', 'is not a synced folder', { path: root });
        const asked = copies ?? folder.conflicts.map((c) => c.copy);
        const resolved = folder.conflicts.filter((c) => asked.includes(c.copy)).map((c) => ({ path: c.path, copy: c.copy, ...(keep === 'both' && { besideAs: `${c.path} (kept)` }) }));
        const failed = asked.filter((copy) => !resolved.some((c) => c.copy === copy)).map((copy) => ({ copy, error: { code: 'E_NO_CONFLICT', message: 'this folder lists no such conflict copy', path: copy } }));
        folder.conflicts = folder.conflicts.filter((c) => !asked.includes(c.copy));
        this.update({});
        return { status: this.status, resolved, failed };
      }
      case 'confirmDeletes':
      case 'restoreDeletes': {
        const { root, id } = arg as CommandArg<'confirmDeletes'>;
        const folder = this.status.folders.find((f) => f.root === root);
        if (!folder) throw new StrataError('E_NO_FOLDER', 'is not a synced folder', { path: root });
        if (id !== undefined && id !== folder.pendingDeletes?.id) throw new StrataError('E_HOLD_CHANGED', 'the held deletes changed since they were shown', { path: root });
        delete folder.pendingDeletes;
        this.update({});
        return this.status;
      }
    }
  }

  /** Changes the status and pushes it, as an agent does after every change. */
  update(change: Partial<AgentStatus>): void {
    const next = { ...this.status, ...change };
    const states = next.folders.map((f) => (next.paused && f.state !== 'error' ? 'paused' : f.state));
    this.status = { ...next, state: overallState(states, next.paused) };
    this.emit({ type: 'status', status: this.status });
  }

  emit(event: AgentEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  subscribe(listener: (event: AgentEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
