// `strata login`, `strata admin login` and admin commands with --org, through the CLI: on Swift
// with the real keychain, and (in a child process) with no keychain at all.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ADMIN, loadCredentials, saveCredentials, userPrincipal } from '../../credentials/index.js';
import { preloadUserLayer, readProfile } from '../../profile/index.js';
import { readSession } from '../../signin/index.js';
import { latestTree, makeMachine, makeTestOrg, signInSkipReason, type Machine, type TestOrg, type TestOrgOptions } from '../../signin/testkit.js';
import { run } from '../run.js';
import { strataInSync, writeTree, type Spec } from '../testkit.js';

const skip = await signInSkipReason();
const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzNOKEYCHAINzz';

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** What a login reads on stdin (--secrets-stdin): the org's access key and secret, a line each. */
function secretsOf(org: TestOrg): string {
  return `${org.creds.accessKeyId}\n${org.creds.secretAccessKey}\n`;
}

/** An org (`options`) whose `user` has a layer preloaded from `tree`, and a machine of it named `name`. */
async function preloaded(t: TestContext, options: TestOrgOptions, user: string, tree: Spec, name: string): Promise<{ org: TestOrg; m: Machine }> {
  const org = await makeTestOrg(t, options);
  const tpl = join(org.dir, 'tpl');
  await writeTree(tpl, tree);
  await preloadUserLayer(await org.admin(), user, { from: tpl });
  return { org, m: await makeMachine(org, name) };
}

/** Each file of a state dir by name with its bytes ('dir' for a folder): what a failed login must leave as it was. */
async function stateDirFiles(stateDir: string): Promise<Record<string, unknown>> {
  return Object.fromEntries(await Promise.all((await readdir(stateDir)).sort().map(async (n) => [n, await readFile(join(stateDir, n)).catch(() => 'dir')])));
}

async function strata(argv: string[], stdin = '', stderrIsTTY = false): Promise<Ran> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, { stdout: (s) => (stdout += s), stderr: { write: (s: string) => (stderr += s), isTTY: stderrIsTTY }, env: {}, stdin: Readable.from([stdin]) });
  return { code, stdout, stderr };
}

/** What a terminal shows of each line: the text after its last carriage return, without erase-line codes. */
function shownLines(text: string): string[] {
  return text.split('\n').map((line) => (line.split('\r').pop() ?? '').replaceAll('\x1b[2K', ''));
}

describe('strata login without a keychain', { skip: process.platform === 'linux' ? false : 'the Secret Service is Linux only' }, () => {
  it('refuses with E_NO_KEYCHAIN before reading the secret, and writes no session', { timeout: 60_000 }, async () => {
    const root = await mkdtemp(join(tmpdir(), 'strata-login-nokc-'));
    try {
      const config = join(root, 'org.json');
      await writeFile(config, JSON.stringify({ version: 1, org: 'acme', store: { endpoint: 'http://127.0.0.1:9', bucket: 'acme-strata' } }));
      for (const d of ['home', 'tmp']) await mkdir(join(root, d));
      const env = { PATH: process.env.PATH, HOME: join(root, 'home'), TMPDIR: join(root, 'tmp'), TSX_DISABLE_CACHE: '1', DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(root, 'no-bus')}` };
      const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'login', '--org', config, '--user', 'alice', '--home', join(root, 'home'), '--state-dir', join(root, 'state'), '--secrets-stdin', '--no-sync'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      child.stdin.end(`AKIAIOSFODNN7EXAMPLE\n${SECRET}\n`);
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((r) => child.on('close', r));
      assert.equal(code, 1, out);
      assert.match(out, /^strata: E_NO_KEYCHAIN .*apt-get install dbus gnome-keyring.*never in a file/m);
      assert.ok(!out.includes(SECRET));
      await assert.rejects(readSession(join(root, 'state')), /E_NOT_SIGNED_IN|nobody is signed in/);
      for (const name of await readdir(root, { recursive: true })) {
        const bytes = await readFile(join(root, name)).catch(() => Buffer.alloc(0));
        assert.ok(!bytes.includes(SECRET), `${name} holds the secret`);
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('strata login and admin login on S3', { skip }, () => {
  it('signs in from stdin with --no-sync, lays the preloaded template, and refuses wrong secrets', async (t) => {
    const org = await makeTestOrg(t, { folders: ['Documents'] });
    const secrets = secretsOf(org);
    const admin = await strata(['admin', 'login', '--org', org.configPath, '--secrets-stdin'], secrets);
    assert.equal(admin.code, 0, admin.stderr);
    assert.deepEqual(await loadCredentials(org.org, ADMIN), org.creds);
    const tpl = join(org.dir, 'tpl');
    await writeTree(tpl, { Documents: { 'welcome.txt': 'welcome' } });
    const preload = await strata(['admin', 'preload', '--org', org.configPath, '--user', 'newhire', '--from', tpl, '--json']);
    assert.equal(preload.code, 0, preload.stderr);
    const assign = await strata(['admin', 'assign', '--org', org.configPath, '--user', 'newhire', '--layers', '', '--display-name', 'New Hire']);
    assert.equal(assign.code, 0, assign.stderr);
    assert.equal((await readProfile(org.store, 'newhire'))?.displayName, 'New Hire');

    const m = await makeMachine(org, 'pc');
    const wrong = await strata(['login', '--org', org.configPath, '--user', 'newhire', '--home', m.home, '--state-dir', m.stateDir, '--no-sync'], `${org.creds.accessKeyId}\nwrong-secret\n`);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /^strata: E_CREDENTIALS_REFUSED .*nothing was stored/m);
    await assert.rejects(loadCredentials(org.org, userPrincipal('newhire')), /E_NO_CREDENTIALS|no keychain entry/);

    const ok = await strata(['login', '--org', org.configPath, '--user', 'newhire', '--home', m.home, '--state-dir', m.stateDir, '--no-sync', '--json'], secrets);
    assert.equal(ok.code, 0, ok.stderr);
    const summary = JSON.parse(ok.stdout) as { user: string; files: number; layers: { layer: string }[] };
    assert.deepEqual([summary.user, summary.files, summary.layers.map((l) => l.layer)], ['newhire', 1, ['user/newhire']]);
    assert.equal(await readFile(join(m.home, 'Documents', 'welcome.txt'), 'utf8'), 'welcome');
    assert.deepEqual(await loadCredentials(org.org, userPrincipal('newhire')), org.creds);
  });

  it("admin preload and layer publish with --org leave out the org config's exclusions too, and say so", async (t) => {
    const org = await makeTestOrg(t, { folders: ['Documents'], policies: { exclude: ['*.iso', 'Documents/scratch/'] } });
    const admin = await strata(['admin', 'login', '--org', org.configPath, '--secrets-stdin'], secretsOf(org));
    assert.equal(admin.code, 0, admin.stderr);
    const tpl = join(org.dir, 'tpl');
    await writeTree(tpl, { Documents: { 'welcome.txt': 'welcome', 'disk.iso': 'iso', 'Thumbs.db': 't', scratch: { 'a.txt': 'a' } } });
    const left = ['Documents/Thumbs.db', 'Documents/disk.iso', 'Documents/scratch/'];
    for (const argv of [['admin', 'preload', '--user', 'newhire'], ['admin', 'layer', 'publish', 'org/dept']]) {
      const r = await strata([...argv, '--org', org.configPath, '--from', tpl, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { files: number; excluded: string[] };
      assert.deepEqual([out.files, out.excluded], [1, left], argv.join(' '));
    }
    for (const layer of ['user/newhire', 'org/dept']) assert.deepEqual([...(await latestTree(await org.admin(), layer)).keys()].sort(), ['Documents', 'Documents/welcome.txt'], layer);
  });

  it("under the org config's caseInsensitive, a Linux admin's preload and a Linux machine's sync never put two names differing only in case into the layer", async (t) => {
    const org = await makeTestOrg(t, { folders: ['Documents'], policies: { caseInsensitive: true } });
    const secrets = secretsOf(org);
    assert.equal((await strata(['admin', 'login', '--org', org.configPath, '--secrets-stdin'], secrets)).code, 0);
    const tpl = join(org.dir, 'tpl');
    await writeTree(tpl, { Documents: { 'README.txt': 'upper', 'Readme.txt': 'mixed' } });
    const preload = await strata(['admin', 'preload', '--org', org.configPath, '--user', 'erin', '--from', tpl, '--json']);
    assert.equal(preload.code, 0, preload.stderr);
    assert.deepEqual((JSON.parse(preload.stdout) as { kept: { path: string }[] }).kept.map((k) => k.path), ['Documents/Readme.txt']);
    const m = await makeMachine(org, 'pc');
    const login = await strata(['login', '--org', org.configPath, '--user', 'erin', '--home', m.home, '--state-dir', m.stateDir, '--no-sync', '--secrets-stdin'], secrets);
    assert.equal(login.code, 0, login.stderr);
    await writeTree(join(m.home, 'Documents'), { 'notes.txt': 'lower', 'NOTES.txt': 'upper' });
    const logout = await strata(['logout', '--state-dir', m.stateDir]);
    assert.equal(logout.code, 0, logout.stderr);
    const names = [...(await latestTree(await org.admin(), 'user/erin')).keys()];
    for (const name of ['readme.txt', 'notes.txt']) {
      assert.equal(names.filter((p) => p.toLowerCase() === `documents/${name}`).length, 1, JSON.stringify(names));
    }
    assert.equal(names.filter((p) => p.includes('.sync-conflict-')).length, 2, JSON.stringify(names));
  });

  it("under the org config's caseInsensitive, preload says of a template's README.txt and Readme.txt that they differ only in case, and where the second went", async (t) => {
    const org = await makeTestOrg(t, { folders: ['Documents'], policies: { caseInsensitive: true } });
    assert.equal((await strata(['admin', 'login', '--org', org.configPath, '--secrets-stdin'], secretsOf(org))).code, 0);
    const tpl = join(org.dir, 'tpl');
    await writeTree(tpl, { Documents: { 'README.txt': 'upper', 'Readme.txt': 'mixed' } });
    const preload = await strata(['admin', 'preload', '--org', org.configPath, '--user', 'erin', '--from', tpl]);
    assert.equal(preload.code, 0, preload.stderr);
    assert.match(preload.stdout, /\n {2}Documents\/README\.txt and Documents\/Readme\.txt differ only in case: kept the template's Documents\/Readme\.txt as Documents\/Readme\.sync-conflict-\d{8}-\d{6}-admin\.txt\n/, preload.stdout);
  });

  it("under the org config's caseInsensitive, admin layer publish parts a folder's README.txt and Readme.txt and lists them: no machine has to when it lays the layer", async (t) => {
    const org = await makeTestOrg(t, { policies: { caseInsensitive: true } });
    assert.equal((await strata(['admin', 'login', '--org', org.configPath, '--secrets-stdin'], secretsOf(org))).code, 0);
    const dir = join(org.dir, 'dept');
    await writeTree(dir, { 'README.txt': 'upper', 'Readme.txt': 'mixed' });
    const pub = await strata(['admin', 'layer', 'publish', 'org/dept', '--org', org.configPath, '--from', dir, '--json']);
    assert.equal(pub.code, 0, pub.stderr);
    const kept = (JSON.parse(pub.stdout) as { kept: { path: string; caseOf: string; copy: string }[] }).kept;
    assert.deepEqual(kept.map((k) => [k.caseOf, k.path]), [['README.txt', 'Readme.txt']]);
    assert.deepEqual([...(await latestTree(await org.admin(), 'org/dept')).keys()].sort(), ['README.txt', kept[0]?.copy]);
    await writeTree(dir, { 'policy.txt': 'p' });
    const text = await strata(['admin', 'layer', 'publish', 'org/dept', '--org', org.configPath, '--from', dir]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /\n {2}README\.txt and Readme\.txt differ only in case: kept Readme\.txt as Readme\.sync-conflict-\d{8}-\d{6}-admin\.txt\n/, text.stdout);
  });

  it("under the org config's caseInsensitive, two org layers spelling a folder differently are laid as one folder on a Linux machine, whose sign-out flushes it so", async (t) => {
    const org = await makeTestOrg(t, { folders: ['Documents'], policies: { caseInsensitive: true } });
    const secrets = secretsOf(org);
    assert.equal((await strata(['admin', 'login', '--org', org.configPath, '--secrets-stdin'], secrets)).code, 0);
    for (const [layer, folder, file] of [['org/a', 'Templates', 'letter.dotx'], ['org/b', 'templates', 'memo.dotx']] as const) {
      const dir = join(org.dir, layer.replace('/', '-'));
      await writeTree(dir, { Documents: { [folder]: { [file]: file } } });
      const pub = await strata(['admin', 'layer', 'publish', layer, '--org', org.configPath, '--from', dir]);
      assert.equal(pub.code, 0, pub.stderr);
    }
    const assign = await strata(['admin', 'assign', '--org', org.configPath, '--user', 'erin', '--layers', 'org/a,org/b']);
    assert.equal(assign.code, 0, assign.stderr);
    const m = await makeMachine(org, 'pc');
    const login = await strata(['login', '--org', org.configPath, '--user', 'erin', '--home', m.home, '--state-dir', m.stateDir, '--no-sync', '--secrets-stdin'], secrets);
    assert.equal(login.code, 0, login.stderr);
    assert.deepEqual(await readdir(join(m.home, 'Documents')), ['Templates']);
    assert.deepEqual((await readdir(join(m.home, 'Documents', 'Templates'))).sort(), ['letter.dotx', 'memo.dotx']);
    const logout = await strata(['logout', '--state-dir', m.stateDir]);
    assert.equal(logout.code, 0, logout.stderr);
    const layer = await latestTree(await org.admin(), 'user/erin');
    assert.equal(layer.get('Documents/Templates/memo.dotx')?.type, 'file', 'the user layer records the folder united');
    assert.equal(layer.get('Documents/templates')?.type, 'whiteout');
  });

  it('at a terminal, the ready line starts a line of its own instead of trailing the progress line', async (t) => {
    const { org, m } = await preloaded(t, { folders: ['Documents'] }, 'erin', { Documents: { 'a.txt': 'a', 'b.txt': 'b' } }, 'pc');
    const login = await strata(['login', '--org', org.configPath, '--user', 'erin', '--home', m.home, '--state-dir', m.stateDir, '--no-sync', '--secrets-stdin'], secretsOf(org), true);
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stderr, /sign-in/, 'the progress line was drawn');
    assert.ok(shownLines(login.stderr).some((l) => l.startsWith('ready in ')), JSON.stringify(login.stderr));
  });

  it('an org config naming a bucket with no repository says so, pointing at the org config and the admin rather than at strata init alone', async (t) => {
    const org = await makeTestOrg(t, { folders: ['Documents'] });
    const config = join(org.dir, 'nobucket.json');
    await writeFile(config, JSON.stringify({ ...org.config, store: { ...(org.config.store as object), bucket: `${(org.config.store as { bucket: string }).bucket}-none` } }));
    const secrets = secretsOf(org);
    const m = await makeMachine(org, 'pc');
    for (const argv of [['login', '--org', config, '--user', 'erin', '--home', m.home, '--state-dir', m.stateDir, '--no-sync'], ['admin', 'login', '--org', config]]) {
      const r = await strata([...argv, '--secrets-stdin'], secrets);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^strata: E_NO_REPOSITORY [^\n]*-none\/layers[^\n]*nobucket\.json[^\n]*strata init --store 's3:\/\/[^\n]*-none\/layers\?endpoint=/m);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    }
  });

  it('admin commands with --org: a missing keychain entry, an org config naming no repository, keys the bucket refuses: one line saying what to do', async (t) => {
    const org = await makeTestOrg(t, { folders: ['Documents'] });
    const once = (r: Ran, code: string): string => {
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout, '');
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, new RegExp(`^strata: ${code} `));
      return lines[0]!;
    };
    const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const missing = once(await strata(['admin', 'users', '--org', org.configPath]), 'E_NO_CREDENTIALS');
    assert.match(missing, new RegExp(`strata admin login --org ${esc(org.configPath)}`));

    await saveCredentials(org.org, ADMIN, org.creds);
    const config = join(org.dir, 'nobucket.json');
    await writeFile(config, JSON.stringify({ ...org.config, store: { ...(org.config.store as object), bucket: `${(org.config.store as { bucket: string }).bucket}-none` } }));
    const none = once(await strata(['admin', 'users', '--org', config]), 'E_NO_REPOSITORY');
    assert.match(none, /-none\/layers.*nobucket\.json.*strata init --store 's3:/);

    await saveCredentials(org.org, ADMIN, { ...org.creds, secretAccessKey: 'wrong-secret' });
    const refused = once(await strata(['admin', 'users', '--org', org.configPath]), 'E_CREDENTIALS_REFUSED');
    assert.match(refused, new RegExp(`admin credentials.*strata admin login --org ${esc(org.configPath)}`));
    assert.ok(!refused.includes('nothing was stored'), refused);
  });

  it('a login that fails (--home names a file) leaves the state dir and the keychain as they were', async (t) => {
    const { org, m } = await preloaded(t, { folders: ['Documents'] }, 'erin', { Documents: { 'a.txt': 'a' } }, 'pc');
    const secrets = secretsOf(org);
    const file = join(org.dir, 'not-a-folder');
    await writeFile(file, 'a file');
    const login = (user: string, home: string) => strata(['login', '--org', org.configPath, '--user', user, '--home', home, '--state-dir', m.stateDir, '--no-sync', '--secrets-stdin'], secrets);

    // A first sign-in, on a fresh state dir.
    const fresh = await login('erin', file);
    assert.equal(fresh.code, 1, fresh.stderr);
    assert.match(fresh.stderr, /^strata: E_\w+ [^\n]*not-a-folder/m);
    assert.equal(fresh.stderr.trimEnd().split('\n').length, 1, fresh.stderr);
    await assert.rejects(readdir(m.stateDir), /ENOENT/, 'the state dir is not made');
    await assert.rejects(loadCredentials(org.org, userPrincipal('erin')), /E_NO_CREDENTIALS|no keychain entry/);

    // Over a session: another user's sign-in failing, then the same user's, sign out nobody.
    assert.equal((await login('erin', m.home)).code, 0);
    const files = () => stateDirFiles(m.stateDir);
    const before = await files();
    for (const user of ['frank', 'erin']) {
      const failed = await login(user, file);
      assert.equal(failed.code, 1, failed.stderr);
      assert.deepEqual(await files(), before, `${user}'s failed login left the state dir as it was`);
    }
    await assert.rejects(loadCredentials(org.org, userPrincipal('frank')), /E_NO_CREDENTIALS|no keychain entry/);
    assert.deepEqual(await loadCredentials(org.org, userPrincipal('erin')), org.creds);
    assert.equal((await readSession(m.stateDir)).home, m.home);
  });

  it('Ctrl-C while the layer is laid cancels the sign-in: the state dir and the keychain as they were', async (t) => {
    const { org, m } = await preloaded(t, { folders: ['Documents'] }, 'erin', { Documents: { 'a.txt': 'a' } }, 'pc');
    const secrets = secretsOf(org);
    const args = (user: string) => ['login', '--org', org.configPath, '--user', user, '--home', m.home, '--state-dir', m.stateDir, '--no-sync', '--secrets-stdin'];
    assert.equal((await strata(args('erin'), secrets)).code, 0);
    const files = () => stateDirFiles(m.stateDir);
    const before = await files();

    // Ctrl-C once the lay has begun (its layers line), as a terminal sends it.
    let stderr = '';
    const write = (s: string) => {
      stderr += s;
      if (s.startsWith('layers:')) process.emit('SIGINT');
    };
    // Erin signs in again (another user is refused while she is signed in: E_SIGNED_IN).
    const code = await run(args('erin'), { stdout: () => undefined, stderr: { write, isTTY: false }, env: {}, stdin: Readable.from([secrets]) });
    assert.equal(code, 1, stderr);
    assert.match(stderr, /^strata: E_INTERRUPTED /m);
    assert.equal(process.listenerCount('SIGINT'), 0, 'the Ctrl-C handler is gone with the lay');
    assert.ok((await readdir(m.stateDir)).includes('laying'), 'the marker stays over a half-laid home: the agent lays again first');
    await rm(join(m.stateDir, 'laying'));
    assert.deepEqual(await files(), before, "erin's session is back");
    assert.deepEqual(await loadCredentials(org.org, userPrincipal('erin')), org.creds);
  });

  it('strata agent syncs the session until strata logout flushes it and stops it', { timeout: 120_000 }, async (t) => {
    const { org, m } = await preloaded(t, { folders: ['Documents'] }, 'dana', { Documents: { 'plan.txt': 'plan v1' } }, 'pc');
    const login = await strata(['login', '--org', org.configPath, '--user', 'dana', '--home', m.home, '--state-dir', m.stateDir, '--no-sync'], secretsOf(org));
    assert.equal(login.code, 0, login.stderr);
    const { exited, output } = await strataInSync(t, ['agent', '--state-dir', m.stateDir, '--poll', '3600']);
    const out = output();
    assert.match(out, new RegExp(`syncing ${m.home} with user/dana`));
    assert.doesNotMatch(out, /NodeVersionSupportWarning/, "the AWS SDK's notice about its future Node versions is not the user's");
    await writeFile(join(m.home, 'Documents/plan.txt'), 'plan v2');
    const logout = await strata(['logout', '--state-dir', m.stateDir]);
    assert.equal(logout.code, 0, logout.stderr);
    assert.match(logout.stdout, /signed out dana .*flushed by the running agent, which was stopped/);
    assert.equal(await exited, 0, output());
    const plan = (await latestTree(await org.admin(), 'user/dana')).get('Documents/plan.txt');
    assert.equal(plan?.type === 'file' ? plan.size : -1, 'plan v2'.length);
    await assert.rejects(loadCredentials(org.org, userPrincipal('dana')), /E_NO_CREDENTIALS|no keychain entry/);
  });

  it('strata logout --wipe refuses while the agent is alive but does not answer (stopped): nothing is flushed here, signed out or wiped', { timeout: 120_000 }, async (t) => {
    const { org, m } = await preloaded(t, { mode: 'vdi', folders: ['Documents'] }, 'eve', { Documents: { 'plan.txt': 'plan v1' } }, 'vdi');
    const login = await strata(['login', '--org', org.configPath, '--user', 'eve', '--home', m.home, '--state-dir', m.stateDir, '--no-sync'], secretsOf(org));
    assert.equal(login.code, 0, login.stderr);
    const { child } = await strataInSync(t, ['agent', '--state-dir', m.stateDir, '--poll', '3600']);
    // Stopped, it still holds its endpoint's socket: the kernel takes connections it never answers.
    // Woken later, it would find the wiped files gone and upload the deletes.
    child.kill('SIGSTOP');
    const logout = await strata(['logout', '--wipe', '--state-dir', m.stateDir]);
    assert.equal(logout.code, 5, logout.stderr);
    assert.equal(logout.stdout, '');
    assert.match(logout.stderr, new RegExp(`^strata: E_AGENT_NOT_ANSWERING [^\\n]*pid ${child.pid}[^\\n]*nothing was signed out\\n$`));
    assert.equal(await readFile(join(m.home, 'Documents/plan.txt'), 'utf8'), 'plan v1', 'nothing was wiped');
    assert.equal((await readSession(m.stateDir)).user, 'eve');
    assert.deepEqual(await loadCredentials(org.org, userPrincipal('eve')), org.creds);
  });

  it('strata login refuses while the agent of the session is alive but does not answer (stopped): nothing is laid, the state dir is as it was', { timeout: 120_000 }, async (t) => {
    const { org, m } = await preloaded(t, { mode: 'vdi', folders: ['Documents'] }, 'eve', { Documents: { 'plan.txt': 'plan v1' } }, 'vdi');
    const args = ['login', '--org', org.configPath, '--user', 'eve', '--home', m.home, '--state-dir', m.stateDir, '--no-sync'];
    const secrets = secretsOf(org);
    assert.equal((await strata(args, secrets)).code, 0);
    const { child } = await strataInSync(t, ['agent', '--state-dir', m.stateDir, '--poll', '3600']);
    // Stopped, the agent still holds its endpoint's socket, its stat cache and its journal: woken,
    // it would sync on over a lay here, and a login without --no-sync would start a second agent.
    child.kill('SIGSTOP');
    await writeFile(join(m.home, 'Documents/plan.txt'), 'plan v2, not synced yet');
    const files = () => stateDirFiles(m.stateDir);
    const before = await files();
    const login = await strata(args, secrets);
    assert.equal(login.code, 5, login.stderr);
    assert.equal(login.stdout, '');
    assert.match(login.stderr, new RegExp(`^strata: E_AGENT_NOT_ANSWERING [^\\n]*pid ${child.pid}[^\\n]*\\n$`));
    assert.deepEqual(await files(), before, 'the state dir is as it was');
    assert.equal(await readFile(join(m.home, 'Documents/plan.txt'), 'utf8'), 'plan v2, not synced yet');
  });

  it('admin commands with --org need the admin login first, and refuse --store with it', async (t) => {
    const org = await makeTestOrg(t);
    const none = await strata(['admin', 'layer', 'list', '--org', org.configPath]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /E_NO_CREDENTIALS .*strata admin login/);
    const both = await strata(['admin', 'layer', 'list', '--org', org.configPath, '--store', 'memory:']);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /give --org or --store, not both/);
  });
});
