/**
 * The one synced folder of a session: home, kept in sync with `user/<id>` over the org layers the
 * last sign-in laid, or those live sync is switching it to (FolderSpec, sync/agent). Restore and
 * live sync both take the layer's extent from here — the org config's folders and exclusions — so
 * they never disagree on what it covers.
 *
 * The state dir must never be part of the layer (it holds the control endpoint's token and the
 * agent's journals), and its default place is under home: when it is inside home it is excluded.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { folderExcluder, type FolderSpec } from '../agent/index.js';
import type { Excluder } from '../watch/index.js';
import type { Session } from './session.js';

export function sessionFolder(session: Session, stateDir: string): FolderSpec {
  const folders = session.org.folders;
  const rel = relative(resolve(session.home), resolve(stateDir));
  // `..` as a whole first name, not any name starting with two dots (`..strata` is inside home).
  const inside = rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
  // A literal path: gitignore's special characters in folder names are escaped.
  const own = inside ? [`/${rel.split(sep).map((p) => p.replace(/[\\*?[\]!#]/g, '\\$&')).join('/')}/`] : [];
  return {
    root: session.home,
    layer: `user/${session.user}`,
    // ['.'] is the whole home: no include list.
    include: folders.includes('.') ? [] : [...folders],
    exclude: [...session.org.policies.exclude, ...own],
    lower: (session.laid?.org ?? []).map((l) => l.root),
    ...(session.laid?.orgBefore ? { lowerBefore: session.laid.orgBefore.map((l) => l.root) } : {}),
  };
}

export function sessionExcluder(session: Session, stateDir: string): Excluder {
  return folderExcluder(sessionFolder(session, stateDir));
}
