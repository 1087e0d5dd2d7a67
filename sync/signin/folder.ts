/**
 * The one synced folder of a session: home, kept in sync with `user/<id>` over the org layers the
 * last sign-in laid, or those live sync is switching it to (FolderSpec, sync/agent). Restore and
 * live sync both take the layer's extent from here — the org config's folders and exclusions — so
 * they never disagree on what it covers. The settings the org config lists are a folder of the layer
 * too (`.strata/settings`, signin/settings.ts).
 *
 * The state dir must never be part of the layer (it holds the control endpoint's token and the
 * agent's journals), and its default place is under home: when it is inside home it is excluded.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { folderExcluder, type FolderSpec } from '../agent/index.js';
import { SETTINGS_FOLDER } from '../settings/mirror.js';
import { keys } from '../repo/types.js';
import type { Excluder } from '../watch/index.js';
import type { OrgConfig } from '../../shared/org-config.js';
import type { Session } from './session.js';

/** The folders under home that make up the layer: the org config's, and the settings' folder when it lists settings (['.']: all of home). */
export function layerFolders(org: OrgConfig): string[] {
  if (org.folders.includes('.')) return ['.'];
  return [...org.folders, ...(org.settings.dconf.length + org.settings.registry.length > 0 ? [SETTINGS_FOLDER] : [])];
}

export function sessionFolder(session: Session, stateDir: string): FolderSpec {
  const folders = layerFolders(session.org);
  const rel = relative(resolve(session.home), resolve(stateDir));
  // `..` as a whole first name, not any name starting with two dots (`..strata` is inside home).
  const inside = rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
  // A literal path: gitignore's special characters in folder names are escaped.
  const own = inside ? [`/${rel.split(sep).map((p) => p.replace(/[\\*?[\]!#]/g, '\\$&')).join('/')}/`] : [];
  return {
    root: session.home,
    layer: `user/${session.user}`,
    // ['.'] is the whole home: no include list.
    include: folders.includes('.') ? [] : folders,
    exclude: [...session.org.policies.exclude, ...own],
    lower: (session.laid?.org ?? []).map((l) => l.root),
    ...(session.laid?.orgBefore ? { lowerBefore: session.laid.orgBefore.map((l) => l.root) } : {}),
    rootKeys: new Map([...(session.laid?.org ?? []), ...(session.laid?.orgBefore ?? [])].map((l) => [l.root, keys.snapshot(l.layer, l.snapshot)])),
    ...(session.org.policies.caseInsensitive ? { caseInsensitive: true } : {}),
  };
}

export function sessionExcluder(session: Session, stateDir: string): Excluder {
  return folderExcluder(sessionFolder(session, stateDir));
}
