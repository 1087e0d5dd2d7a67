/**
 * Desktop notifications: what, in the agent's status, the user should hear about without looking
 * at the tray — a mass delete held back for their confirmation, new conflicts (both versions were
 * kept), a folder whose sync stopped with an error (what failed and where). Pure: `notices` compares two statuses and
 * says what is new in the second; app.ts shows them through the shell, a click opens the window.
 *
 * Also a setting the settings mirror could not sync, or settings that cannot sync at all
 * (sync/signin/settings.ts): `settingsNotice` words the news the mirror's runner reports, which
 * tells each problem once until it changes, as `strata agent` warns of it.
 *
 * What must hold: each thing is told once, when it appears (a status pushed many times a second
 * repeats nothing); several conflicts at once make one notice; offline is not told (it passes by
 * itself, and the tray says it); nothing is told of a state that ended; names from the bucket are
 * shown as text, never as markup (notificationFor).
 */
import type { AgentStatus, FolderStatus } from '../shared/agent-api.js';
import { errorText, isolatedName, plural } from '../shared/status-text.js';
import { describeError } from '../sync/errors.js';
import type { SettingsEvent } from '../sync/signin/index.js';

export interface Notice {
  title: string;
  body: string;
}

/** The notice of a settings problem or failure; undefined for a settings run that went well. */
export function settingsNotice(e: SettingsEvent): Notice | undefined {
  if (e.type === 'settings-problem') return { title: 'A setting is not synced', body: `${isolatedName(e.problem.key)}: ${e.problem.message}` };
  if (e.type === 'settings-failed') return { title: 'Settings are not synced', body: `${describeError(e.error).split('\n')[0]}. Files sync on.` };
  return undefined;
}

/** What is new in `after` since `before` (undefined: nothing was known, so everything waiting is new). */
export function notices(before: AgentStatus | undefined, after: AgentStatus): Notice[] {
  const out: Notice[] = [];
  const earlier = new Map<string, FolderStatus>((before?.folders ?? []).map((f) => [f.root, f]));
  for (const f of after.folders) {
    const was = earlier.get(f.root);
    if (f.pendingDeletes && !was?.pendingDeletes) {
      const { files, of, direction } = f.pendingDeletes;
      const where = direction === 'local' ? 'on this computer' : 'on another computer';
      out.push({ title: 'Strata is holding back a deletion', body: `${files} of ${of} files in ${isolatedName(f.root)} were deleted ${where}. Open Strata to delete them everywhere or restore them.` });
    }
    const seen = new Set((was?.conflicts ?? []).map((c) => c.copy));
    const fresh = f.conflicts.filter((c) => !seen.has(c.copy));
    if (fresh.length === 1 && fresh[0]) {
      const c = fresh[0];
      out.push({ title: `Conflict: ${isolatedName(c.path)}`, body: `It changed here and on ${isolatedName(c.device)}. Both versions are kept; the other one is ${isolatedName(c.copy)}.` });
    } else if (fresh.length > 1) {
      out.push({ title: `${plural(fresh.length, 'conflict')} in ${isolatedName(f.root)}`, body: 'Files changed here and on another computer. Both versions of each are kept; open Strata to choose.' });
    }
    // An error stands until a pass ends (FolderStatus.error): a retry, or a resume, that ends in it again is nothing new.
    if (f.state === 'error' && f.error && (was?.error === undefined || errorText(was.error) !== errorText(f.error))) {
      out.push({ title: `Sync stopped in ${isolatedName(f.root)}`, body: errorText(f.error, isolatedName) });
    }
  }
  return out;
}

const MARKUP: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * `notice` as the platform's notifications take it. On Linux the body goes to the notification
 * server as it is (Electron's libnotify notifications do not escape it), and servers with the
 * body-markup capability (GNOME, KDE, dunst, …) render it as markup: a file or device name from the
 * bucket could show links, images or text that is not there. So there its markup characters are
 * escaped; the summary (title) is plain text to every server, and macOS and Windows show both as text.
 */
export function notificationFor(notice: Notice, platform: NodeJS.Platform): Notice {
  if (platform !== 'linux') return notice;
  return { title: notice.title, body: notice.body.replace(/[&<>"']/g, (c) => MARKUP[c] ?? c) };
}
