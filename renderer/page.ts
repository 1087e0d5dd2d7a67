/**
 * What every page of the UI does the same way: elements built from text only, the page's style
 * sheet, and the token that the address's fragment carries.
 */

import { visibleName } from '../shared/status-text.js';

export type Child = Node | string | undefined | false;

/** An element with text content only: strings become text nodes, never markup. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<Record<'className' | 'title' | 'role', string>> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  Object.assign(el, props);
  for (const c of children) if (c !== undefined && c !== false) el.append(c);
  return el;
}

/**
 * A name from the agent (a file, a path, a key) inside the page's own words: isolated (a <bdi>), so
 * that right-to-left letters or a direction override in it (U+202E) reorder only the name, never
 * the words around it. Left to right as a whole, as the desktop's file manager shows it: a name in
 * Arabic keeps its extension and a conflict copy's suffix after it. Its control characters and
 * the whitespace at its ends are shown (visibleName).
 */
export function named(text: string, className?: string): HTMLElement {
  const el = h('bdi', className === undefined ? {} : { className }, visibleName(text));
  el.dir = 'ltr';
  return el;
}

/** Gives the page `css` as a constructed style sheet (the CSP allows no inline style). */
function adoptCss(css: string): void {
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(css);
  document.adoptedStyleSheets = [sheet];
}

const TOKEN_KEY = 'strata-token';

/**
 * The token from the address's fragment, or the one this tab kept. It is kept for this tab only
 * (a reload works; a new tab needs the address again), and taken out of the address bar, so that
 * it is in neither the history nor a bookmark.
 */
function takeToken(): string | null {
  const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? sessionStorage.getItem(TOKEN_KEY);
  if (token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    history.replaceState(null, '', location.pathname);
  }
  return token;
}

/** Drops the tab's token: the server no longer accepts it. */
export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/**
 * Starts a page: its style sheet, then `start` with the page's root element and the token, or
 * `noToken` where the address carried none. Does nothing outside a browser (tests import pages).
 */
export function startPage(css: string, noToken: string, start: (root: HTMLElement, token: string) => void): void {
  if (typeof document === 'undefined') return;
  const root = document.getElementById('app');
  if (root === null) return;
  adoptCss(css);
  const token = takeToken();
  if (!token) {
    root.replaceChildren(h('p', { role: 'alert' }, noToken));
    return;
  }
  start(root, token);
}
