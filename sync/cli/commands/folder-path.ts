/**
 * Paths a user names on the command line, matched to the agent's folders. A path is absolute or
 * relative to the working directory, as a shell's tab completion gives it. The user may reach a
 * folder through a symlink the agent does not use, or the other way round (macOS's /tmp is
 * /private/tmp), so a path and a root are compared as given first, then by their real paths.
 */
import { realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path';

/** The real path of a folder; its resolved path where it cannot be resolved (gone, unreadable). */
export function realOrResolved(path: string): Promise<string> {
  return realpath(resolve(path)).catch(() => resolve(path));
}

/** The agent's folder that `given` names: the same path, or failing that, the same real path. */
export async function folderNamed<F extends { root: string }>(folders: readonly F[], given: string): Promise<F | undefined> {
  const exact = folders.find((f) => f.root === resolve(given));
  if (exact) return exact;
  const real = await realOrResolved(given);
  for (const f of folders) if ((await realOrResolved(f.root)) === real) return f;
  return undefined;
}

/** `path` relative to `root`, with `/` between names as layer paths have them; undefined unless strictly inside it. */
function inside(root: string, path: string): string | undefined {
  const rel = relative(root, path);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return undefined;
  return rel.split(sep).join('/');
}

/** The innermost of `roots` holding `path`, with the path inside it. */
function innermost(roots: readonly string[], resolved: readonly string[], path: string): { root: string; rel: string } | undefined {
  let best: { root: string; rel: string } | undefined;
  roots.forEach((root, i) => {
    const rel = inside(resolved[i] as string, path);
    if (rel !== undefined && (best === undefined || rel.length < best.rel.length)) best = { root, rel };
  });
  return best;
}

/**
 * Which of `roots` (the agent's folders) holds `given`, and its path inside that folder; undefined
 * when none does. The last name of `given` is not followed: a conflict copy may be a symlink.
 */
export async function locateInFolders(roots: readonly string[], given: string): Promise<{ root: string; rel: string } | undefined> {
  const path = resolve(given);
  const found = innermost(roots, roots.map((r) => resolve(r)), path);
  if (found !== undefined) return found;
  const real = resolve(await realOrResolved(dirname(path)), basename(path));
  return innermost(roots, await Promise.all(roots.map(realOrResolved)), real);
}
