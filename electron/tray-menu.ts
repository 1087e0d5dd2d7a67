/**
 * The tray: its menu and tooltip as plain data, from the agent's status, so that what the user
 * sees is tested without Electron; main.ts turns the items into a Menu and runs the actions.
 *
 * What must hold: Pause is offered while syncing and Resume while paused, never both; Sync now
 * only while not paused; anything that waits for the user (a held mass delete, conflicts, an
 * error) is said in the menu's first lines and points to the window, where it is resolved; while
 * an answered mass delete waits for its pass, the first line says what is about to happen, never
 * "In sync"; settings that are not synced (AgentStatus.settings) are said in the menu and the
 * tooltip as long as they stand.
 */
import type { SignInState } from '../shared/signin-api.js';
import type { AgentStatus, FolderStatus, SettingsStatus } from '../shared/agent-api.js';
import { agentLabel, errorText, formatProgress, heldLine, isolatedName, lastPassFailed, notCarriedWords, plural } from '../shared/status-text.js';

export type TrayAction = 'open' | 'pause' | 'resume' | 'syncNow' | 'autostart' | 'quit';

/** An item with `checked` is a checkbox. */
export type TrayItem = { type: 'separator' } | { type: 'item'; label: string; action?: TrayAction; enabled: boolean; checked?: boolean };

const info = (label: string): TrayItem => ({ type: 'item', label, enabled: false });
const act = (label: string, action: TrayAction, enabled = true): TrayItem => ({ type: 'item', label, action, enabled });
const SEPARATOR: TrayItem = { type: 'separator' };


/** What a folder's error line begins with: offline, an error, or (paused, a pass running again) the last pass's. */
function errorWhere(f: FolderStatus): string {
  if (lastPassFailed(f)) return `Last pass failed in ${isolatedName(f.root)}`;
  return f.state === 'offline' ? 'Offline' : `Error in ${isolatedName(f.root)}`;
}

/** The lines that say where sync stands: the state, then whatever waits for the user. */
export function statusLines(status: AgentStatus | undefined): string[] {
  if (status === undefined) return ['Starting…'];
  const held = status.folders.filter((f) => f.pendingDeletes !== undefined);
  const lines = [agentLabel(status)];
  const progress = status.folders.find((f) => f.progress !== undefined)?.progress;
  if (progress && status.state !== 'paused') lines.push(formatProgress(progress));
  for (const f of status.folders) if (f.error) lines.push(`${errorWhere(f)}: ${errorText(f.error, isolatedName)}`);
  for (const f of status.folders) if (f.warning) lines.push(`Warning in ${isolatedName(f.root)}: ${errorText(f.warning, isolatedName)}`);
  for (const f of held) if (f.pendingDeletes) lines.push(heldLine(f.pendingDeletes, status.paused));
  for (const f of status.folders) if (f.notCarried) lines.push(`In ${isolatedName(f.root)}, ${notCarriedWords(f.notCarried)}`);
  const conflicts = status.folders.reduce((n, f) => n + f.conflicts.length, 0);
  if (conflicts > 0) lines.push(`${plural(conflicts, 'conflict')} to resolve`);
  const settings = settingsTrouble(status.settings);
  if (settings) lines.push(settings.line);
  return lines;
}

/**
 * What stands of the settings mirror's problems (AgentStatus.settings): why no setting syncs, or
 * how many keys do not; undefined while they sync. Problems that no longer stand were news, told
 * once in a notice, and are left to the window.
 */
function settingsTrouble(st: SettingsStatus | undefined): { line: string; short: string } | undefined {
  if (st?.error) return { line: `Settings not synced: ${errorText(st.error, isolatedName)}`, short: 'settings not synced' };
  const standing = st?.problems.filter((p) => p.standing).length ?? 0;
  if (standing === 0) return undefined;
  const line = `${plural(standing, 'setting')} not synced`;
  return { line, short: line };
}

/** The menu; `autostart`, when known, is the "Start at login" checkbox's state. */
export function trayMenu(status: AgentStatus | undefined, autostart?: boolean): TrayItem[] {
  const paused = status?.paused ?? false;
  return [
    ...statusLines(status).map(info),
    SEPARATOR,
    act('Open Strata', 'open'),
    paused ? act('Resume sync', 'resume', status !== undefined) : act('Pause sync', 'pause', status !== undefined),
    act('Sync now', 'syncNow', status !== undefined && !paused),
    SEPARATOR,
    ...(autostart === undefined ? [] : [{ type: 'item' as const, label: 'Start at login', action: 'autostart' as const, enabled: true, checked: autostart }]),
    act('Quit Strata', 'quit'),
  ];
}

/** The tray icon's tooltip, one line: the first status line, and settings that are not synced. */
export function trayTooltip(status: AgentStatus | undefined): string {
  const settings = settingsTrouble(status?.settings);
  return `Strata — ${statusLines(status)[0]}${settings ? `; ${settings.short}` : ''}`;
}

/** A lay's progress, in the tray: at a sign-in, or when an interrupted one is laid again. */
export function layingLine(filesDone: number, files: number): string {
  return `Laying your files: ${filesDone} of ${files}`;
}

/** Where a sign-in from the sign-in screen stands, in a few words. */
export function signInLine(state: SignInState): string {
  switch (state.step) {
    case 'form':
      return 'Not signed in';
    case 'keychain':
      return 'Not signed in: no keychain';
    case 'checking':
      return 'Signing in…';
    case 'laying':
      return state.progress ? layingLine(state.progress.filesDone, state.progress.files) : 'Finding your files…';
    case 'starting':
    case 'done':
      return 'Starting sync…';
  }
}

/** The menu while nobody is signed in: where the sign-in stands, Open (the sign-in screen) and Quit. */
export function signInMenu(state: SignInState): TrayItem[] {
  return [info(signInLine(state)), SEPARATOR, act('Open Strata', 'open'), SEPARATOR, act('Quit Strata', 'quit')];
}
