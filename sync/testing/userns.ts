/**
 * Runs a command as root of a new user namespace (`unshare --user --map-root-user`): the disk as
 * an ordinary user's process meets it. A folder owned by an id the namespace does not map (chown
 * it to one from outside) is refused past its permissions, root's or not; and the inotify watch
 * limit, which counts per namespace (/proc/sys/user/max_inotify_watches), can be set low enough
 * to reach. Linux only; without user namespaces the test is skipped with the reason.
 */
import { spawnSync } from 'node:child_process';

/** A user id no test namespace maps: chown a folder to it to make it unreadable there. */
export const UNMAPPED_UID = 12345;

/** The argv prefix that runs a command in such a namespace, or why there is none here. */
export function inUserNamespace(opts: { maxWatches?: number } = {}): string[] | { skip: string } {
  if (process.platform !== 'linux') return { skip: 'user namespaces are Linux only' };
  if (process.getuid?.() !== 0) return { skip: 'chown to an unmapped user needs root' };
  const limit = opts.maxWatches === undefined ? '' : `echo ${opts.maxWatches} > /proc/sys/user/max_inotify_watches && `;
  const prefix = ['unshare', '--user', '--map-root-user', 'sh', '-c', `${limit}exec "$@"`, 'sh'];
  const probe = spawnSync(prefix[0]!, [...prefix.slice(1), 'true'], { stdio: 'ignore', timeout: 10_000 });
  if (probe.error !== undefined || probe.status !== 0) return { skip: 'cannot make a user namespace here (unshare --user, max_inotify_watches)' };
  return prefix;
}
