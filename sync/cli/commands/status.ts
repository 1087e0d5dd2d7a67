/**
 * `strata status`: what the running agent is doing, one line per folder, and the settings the
 * mirror did not sync (AgentStatus.settings), one line each. The agent is found
 * through control.json in its state dir (`--state-dir`); when none runs, the command fails with
 * one line (E_AGENT_NOT_RUNNING). Also here, because every command that talks to the agent shares
 * them: the status lines, `connectAgent`, and `agentCommand` for resume and sync-now.
 */
import type { AgentStatus, FolderStatus, SettingsStatus } from '../../../shared/agent-api.js';
import { answerWords, errorLine, formatProgress, lastPassFailed, notCarriedWords, plural, waitsForAnswer } from '../../../shared/status-text.js';
import { connectControl, type ControlClient } from '../../control/index.js';
import { StrataError } from '../../errors.js';
import type { Context } from '../context.js';
import { columns, formatTime } from '../format.js';
import { STATE_DIR_OPTION, stateDirOf, type Command } from './command.js';

export function connectAgent(ctx: Context): Promise<ControlClient> {
  return connectControl(stateDirOf(ctx));
}

function folderRow(f: FolderStatus, paused: boolean): string[] {
  const d = f.pendingDeletes;
  const pending = d ? `${d.files} of ${plural(d.of, 'file')} (${d.direction}), ${d.answer === undefined ? 'waiting' : answerWords(d.answer, paused)}` : '-';
  return [f.root, f.layer, f.state, f.progress ? formatProgress(f.progress) : '-', f.lastSync ? formatTime(f.lastSync) : '-', String(f.conflicts.length), pending];
}

/** E_SYNC naming the folder that stopped and why: how a live sync that ended in error fails. */
export function syncFailed(s: AgentStatus): StrataError {
  const f = s.folders.find((x) => x.error !== undefined);
  return f?.error === undefined ? new StrataError('E_SYNC', 'sync failed') : new StrataError('E_SYNC', `sync of this folder stopped: ${errorLine(f.error)}`, { path: f.root });
}

/**
 * The settings mirror's standing (AgentStatus.settings): why settings cannot sync at all, then
 * each key not synced, then what earlier runs told; nothing while settings sync.
 */
function settingsLines(st: SettingsStatus | undefined): string[] {
  if (!st) return [];
  const lines = st.error ? [`settings (${st.store}): ${errorLine(st.error)}; files sync on`] : [];
  for (const p of st.problems) lines.push(`${p.standing ? '' : 'earlier, '}setting ${p.key}: ${p.message}`);
  return lines;
}

/**
 * The overall line (with deletes waiting for the user's answer, whatever the state), one line per folder, then one line per folder error and warning
 * and per answer to a held delete that found no hold, then one line per settings problem.
 */
export function statusLines(s: AgentStatus): string[] {
  const overall = [`agent: ${s.state}`];
  if (s.paused && s.state !== 'paused') overall.push('paused');
  // Whatever the folders do, as the tray and the UI say "Waiting for you".
  if (s.folders.some(waitsForAnswer)) overall.push('deletes waiting (strata deletes)');
  overall.push(`device ${s.deviceId}`, `last sync ${s.lastSync ? formatTime(s.lastSync) : 'never'}`);
  const lines = [overall.join(', ')];
  if (s.folders.length === 0) lines.push('no folders');
  else {
    const rows = [['ROOT', 'LAYER', 'STATE', 'PROGRESS', 'LAST SYNC', 'CONFLICTS', 'PENDING DELETES'], ...s.folders.map((f) => folderRow(f, s.paused))];
    lines.push(...columns(rows, new Set([5])).map((l) => l.trimEnd()));
    for (const f of s.folders) {
      if (f.error) lines.push(`${f.root}: ${lastPassFailed(f) ? 'last pass failed: ' : ''}${errorLine(f.error)}`);
      if (f.warning) lines.push(`${f.root}: warning: ${errorLine(f.warning)}`);
      // As the tray and the UI say it, and `strata deletes`: an answer that found no hold any more.
      if (f.notCarried) lines.push(`${f.root}: ${notCarriedWords(f.notCarried)}`);
    }
  }
  return [...lines, ...settingsLines(s.settings)];
}

export const statusCommand: Command = {
  name: 'status',
  summary: 'show what the running agent is doing, folder by folder',
  args: '',
  positionals: { min: 0, max: 0 },
  options: { 'state-dir': STATE_DIR_OPTION },
  async run(ctx) {
    const status = await (await connectAgent(ctx)).call('status', {});
    if (ctx.json) ctx.printJson(status);
    else ctx.print(...statusLines(status));
  },
};

/** A command that sends one argument-less command to the agent and shows the status it answers with. */
export function agentCommand(name: string, command: 'resume' | 'syncNow', summary: string, done: string): Command {
  return {
    name,
    summary,
    args: '',
    positionals: { min: 0, max: 0 },
    options: { 'state-dir': STATE_DIR_OPTION },
    async run(ctx) {
      const status = await (await connectAgent(ctx)).call(command, {});
      if (ctx.json) ctx.printJson(status);
      else ctx.print(done, ...statusLines(status));
    },
  };
}
