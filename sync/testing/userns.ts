/**
 * Runs a command as root of a new user namespace (`unshare --user --map-root-user`): the disk as
 * an ordinary user's process meets it. A folder owned by an id the namespace does not map (chown
 * it to one from outside) is refused past its permissions, root's or not; and the inotify watch
 * limit, which counts per namespace (/proc/sys/user/max_inotify_watches), can be set low enough
 * to reach. Linux only; without user namespaces the test is skipped with the reason.
 *
 * Or runs a test again as an ordinary user (rerunAsOrdinaryUser), where the test runs as root,
 * whom no mode refuses (CI does): a test of what permissions refuse then runs there too.
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

/** A user id no test namespace maps: chown a folder to it to make it unreadable there. */
export const UNMAPPED_UID = 12345;

const REPO = fileURLToPath(new URL('../..', import.meta.url));

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

/** The ordinary user a test runs as in its namespace: this process's user outside. */
const ORDINARY_UID = 1000;

/**
 * Runs the calling test again, alone, as an ordinary user, when this process is root: in a new
 * user namespace as uid 1000 there, which is root outside. The files the test makes are that
 * user's own, and no capability overrides their modes (a user namespace's root would still have
 * them). True when it did (the caller must return: the test's outcome is the run's), false when
 * this process is no root and the caller runs the test itself. Skips the test where no namespace
 * can be made.
 */
export async function rerunAsOrdinaryUser(t: TestContext, testFile: string): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  const prefix = ['unshare', '--user', `--map-user=${ORDINARY_UID}`, `--map-group=${ORDINARY_UID}`];
  const probe = process.platform === 'linux' ? spawnSync(prefix[0]!, [...prefix.slice(1), 'true'], { stdio: 'ignore', timeout: 10_000 }) : undefined;
  if (probe === undefined || probe.error !== undefined || probe.status !== 0) {
    t.skip('runs as root, whom permissions do not refuse, and cannot make a user namespace here to run as an ordinary user (unshare --user --map-user)');
    return true;
  }
  const pattern = t.name.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
  const argv = [...prefix, process.execPath, '--import', import.meta.resolve('tsx'), '--test', '--test-reporter=tap', '--test-name-pattern', pattern, fileURLToPath(testFile)];
  // A test runner of its own, not a file of this one's run (which NODE_TEST_CONTEXT would make it).
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(argv[0]!, argv.slice(1), { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const ran = out.split('\n').some((l) => /^\s*ok \d+ - /.test(l) && l.includes(t.name) && !l.includes('# SKIP'));
  if (code !== 0 || !ran) throw new Error(`as an ordinary user (uid ${ORDINARY_UID} of a user namespace) the test ${code !== 0 ? 'failed' : 'did not run'}:\n${out}`);
  return true;
}
