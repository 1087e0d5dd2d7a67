/**
 * Parts of the agent's page built from what they are given alone, with no state of the page's: a
 * heading the focus can go to, where the focus goes when its element left, a time as the browser's
 * locale writes it, what a "for all" did, and the settings mirror's problems.
 */
import type { ResolvedConflicts, SettingsProblemInfo, SettingsStatus } from '../shared/agent-api.js';
import { errorParts } from '../shared/status-text.js';
import { h, named, type Child } from './page.js';

/** A heading the focus can be put on (not reached by Tab). */
export function heading<K extends 'h2' | 'h3'>(tag: K, text: string): HTMLElementTagNameMap[K] {
  const el = h(tag, {}, text);
  el.tabIndex = -1;
  return el;
}

/**
 * Where the focus goes when what had it left the page (a conflict resolved, a held delete's box
 * gone): the heading of the list it was in, or of its folder, so that the next Tab goes on from
 * there and a key pressed again acts on nothing.
 */
export function focusAfter(had: Element, section: Element | null, inConflicts: boolean): void {
  if (had.isConnected || section === null || !section.isConnected) return;
  const target = (inConflicts ? section.querySelector<HTMLElement>(':scope > h3') : null) ?? section.querySelector<HTMLElement>(':scope > h2');
  target?.focus();
}

export function time(iso: string): string {
  return new Date(iso).toLocaleString();
}

/** What a "for all" did, as a status line; the conflicts it left, as an alert with each one and why. */
export function outcomeLines(o: { text: string; failed: ResolvedConflicts['failed'] }): HTMLElement[] {
  const out = [h('p', { className: 'result', role: 'status' }, o.text)];
  if (o.failed.length === 0) return out;
  const left = h('div', { className: 'problem', role: 'alert' }, h('p', {}, o.failed.length === 1 ? 'One conflict was left as it was:' : `${o.failed.length} conflicts were left as they were:`));
  left.append(h('ul', {}, ...o.failed.map((x) => h('li', {}, named(x.copy), `: ${x.error.message}`))));
  out.push(left);
  return out;
}

/**
 * The settings mirror's problems, as a folder's error is shown: what stands now as alerts (why
 * settings cannot sync at all; each key not synced, by its path), then what earlier runs told.
 */
export function settingsSection(st: SettingsStatus): HTMLElement | false {
  if (st.error === undefined && st.problems.length === 0) return false;
  const line = (p: SettingsProblemInfo): Child[] => [named(p.key), `: ${p.message}`];
  const standing = st.problems.filter((p) => p.standing);
  const earlier = st.problems.filter((p) => !p.standing);
  return h(
    'section',
    { className: 'settings' },
    h('h2', {}, 'Settings'),
    st.error !== undefined && h('p', { className: 'problem', role: 'alert' }, 'Settings are not synced: ', ...errorParts(st.error, named), `. Files sync on; ${st.store} is tried again at each pass.`),
    ...standing.map((p) => h('p', { className: 'problem', role: 'alert' }, ...line(p))),
    earlier.length > 0 && h('h3', {}, 'Earlier, since the agent started'),
    earlier.length > 0 && h('ul', { className: 'earlier' }, ...earlier.map((p) => h('li', {}, ...line(p)))),
  );
}
