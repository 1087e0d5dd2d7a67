// Random lives of one user's layer (DESIGN §1, §4), checked against a model of what the user
// expects: sessions on VDI machines reset to a golden image (or signed in again without a reset,
// after a sign-out that wiped the layer's folders or not, or reset with their state dir kept), and
// on a persistent PC that signs out and in again or stays signed in, one after the other. The
// user writes, edits, renames and deletes files and folders of every origin (the image's, the org
// layers', their own); between sessions an admin publishes versions of two org layers and assigns
// them (none, one, both, in either order); one PC lay in three is cut off and laid again.
//
// What must hold at every sign-in, and at every pass of a PC still signed in: home holds exactly
// the files the user left, except that org files the user never touched follow the org layers
// assigned now (the higher one's file over the lower one's); no conflict copy appears (nobody edits
// at the same time). So a file the user deleted stays deleted whatever it came from, and an edit
// stays whatever machine made it.
//
// The model: `user` holds the user's own word on a path (a content, or null for a delete that
// hides a file below: an org layer's, or the image's on a VDI machine; a delete of the user's own
// file leaves no word, so a file an org layer adds there later shows), and `hidden` the folders the
// user deleted where something lay below. The image's files become the user's at the first pass of
// the first VDI session (the adoption, DESIGN §4); every other path shows the org layers. Image and
// org paths are disjoint. A pass sees only the disk as it finds it: a whiteout the last pass left
// stays where the user wrote and deleted again, or deleted a folder and made it again, in between
// (keptWhiteouts). The machines' clocks disagree: each machine's passes run on time, an hour
// behind or ahead, or a year behind, and the lays' clock is months behind. Left out: a PC deleting a
// folder the image has, lays cut off on VDI machines (signIn below), and a new image (a machine
// reset to one with its state dir kept: base-delete.test).
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rename, rm, unlink, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { it, type TestContext } from 'node:test';
import { parseOrgConfig, type OrgConfig } from '../../shared/org-config.js';
import { syncOnce } from '../agent/index.js';
import { preloadUserLayer, publishOrgLayer, writeProfile } from '../profile/index.js';
import { openRepository, type Repository } from '../repo/index.js';
import { openAgentState } from '../state/index.js';
import type { ObjectStore } from '../store/index.js';
import { makeRng, testSeed, type Rng } from '../testing/random.js';
import { markHeadFinal } from './device-head.js';
import { sessionFolder } from './folder.js';
import { layHome } from './lay.js';
import { changedOrgLayers } from './refresh.js';
import { deleteSession, readSession, writeSession, type Session } from './session.js';
import { bootNow, latestTree, memoryBucket } from './testkit.js';

const USER = 'alice';
const IMAGE: Record<string, string> = {
  'Documents/img/i1.txt': 'image one',
  'Documents/img/i2.txt': 'image two',
  'Documents/img/deep/i3.txt': 'image three',
  '.config/app/settings.ini': 'image settings',
};
const ORG_LAYERS = ['org/dept', 'org/team'];
const ORG_PATHS = ['Documents/Policies/p1.txt', 'Documents/Policies/p2.txt', 'Documents/Policies/sub/p3.txt', '.config/app/org.ini'];
const OWN_PATHS = ['Documents/u1.txt', 'Documents/u2.txt', 'Documents/img/u3.txt', 'Documents/Policies/u4.txt', '.config/app/u5.ini', 'Documents/new/u6.txt'];
const SESSIONS = 8;
const SEEDS = 6;

/** Every file under `home` (relative path → content), or with `dirs` every file and folder (→ its kind). */
async function files(home: string, rel = '', out = new Map<string, string>(), dirs = false): Promise<Map<string, string>> {
  for (const e of await readdir(join(home, rel), { withFileTypes: true }).catch(() => [])) {
    const r = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) {
      if (dirs) out.set(r, 'dir');
      await files(home, r, out, dirs);
    } else out.set(r, dirs ? 'file' : await readFile(join(home, r), 'utf8'));
  }
  return out;
}

/** The folders above a path, nearest last: 'a/b/c' → ['a', 'a/b']. */
function ancestors(p: string): string[] {
  const parts = p.split('/');
  return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

async function put(home: string, rel: string, text: string, mtimeMs: number): Promise<void> {
  const path = join(home, rel);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  await utimes(path, mtimeMs / 1000, mtimeMs / 1000);
}

type Kind = 'vdi' | 'vdi-again' | 'vdi-wiped' | 'vdi-kept' | 'pc';

interface Machine {
  home: string;
  stateDir: string;
  signedIn: boolean;
  /** How far the machine's clock is off, in ms: its passes date their snapshots by it. */
  skew: number;
  /** When it started, just after its image was written (a lay with no record takes older files for the image's). */
  bootTime?: number;
}

class Life {
  /** The user's own word per path: a content, or null for a delete. */
  readonly user = new Map<string, string | null>();
  /** Folders the user deleted where something lay below: one whiteout hides all under them. */
  readonly hidden = new Set<string>();
  /** `user` and `hidden` as the last pass left them: what the user layer holds. */
  private synced = { user: new Map<string, string | null>(), hidden: new Set<string>() };
  /** Each org layer's latest version, and the layers the profile assigns (lowest first). */
  private readonly orgLayers = new Map<string, Map<string, string>>(ORG_LAYERS.map((l) => [l, new Map()]));
  private assigned: string[] = ['org/dept'];
  adopted = false;
  /** Image paths whose image bytes the user layer held (adopted): its history keeps them. */
  private readonly imageHeld = new Set<string>();
  /** Image paths only ever held with other bytes (a preload's), deleted on the PC, that no VDI pass has whited out yet. */
  private readonly coveredGone = new Set<string>();
  /** What the admin's templates last wrote per path (the preload's merge base). */
  private readonly templated = new Map<string, string>();
  readonly trace: string[] = [];
  private texts = 0;
  private clock = Date.UTC(2026, 0, 5, 9);
  private versions = 0;
  private pc: Machine | undefined;
  private lastVdi: Machine | undefined;

  constructor(
    private readonly rng: Rng,
    private readonly dir: string,
    private readonly store: ObjectStore,
    private readonly repo: Repository,
    private readonly configs: Record<'vdi' | 'persistent', OrgConfig>,
  ) {}

  /** What home must hold right after a sign-in; a VDI machine also shows the image's files the layer does not know yet. */
  expected(vdi: boolean): Map<string, string> {
    const out = new Map<string, string>();
    const shows = (p: string): boolean => !this.user.has(p) && !this.underHidden(p);
    for (const [p, text] of this.org) if (shows(p)) out.set(p, text);
    if (vdi) for (const [p, text] of Object.entries(IMAGE)) if (shows(p)) out.set(p, text);
    for (const [p, text] of this.user) if (text !== null) out.set(p, text);
    return out;
  }

  text(tag: string): string {
    return `${tag} #${++this.texts}`;
  }

  tick(): number {
    return (this.clock += 60_000);
  }

  /** The org layers as the user sees them: the assigned ones, a higher one's file over a lower one's. */
  get org(): Map<string, string> {
    const out = new Map<string, string>();
    for (const layer of this.assigned) for (const [p, text] of this.orgLayers.get(layer)!) out.set(p, text);
    return out;
  }

  async publish(layer = this.rng.pick(ORG_LAYERS)): Promise<void> {
    const next = new Map(this.orgLayers.get(layer));
    for (const p of ORG_PATHS) {
      const r = this.rng.next();
      if (r < 0.3) next.set(p, this.text(`${layer} v${this.versions + 1} ${p}`));
      else if (r < 0.45) next.delete(p);
    }
    const from = join(this.dir, `org-v${++this.versions}`);
    await mkdir(from, { recursive: true });
    for (const [p, text] of next) await put(from, p, text, this.tick());
    await publishOrgLayer(this.repo, layer, { from });
    this.orgLayers.set(layer, next);
    this.trace.push(`publish ${layer} v${this.versions}: ${[...next.keys()].join(', ') || 'empty'}`);
  }

  /**
   * The admin preloads a template into the user's layer (strata admin preload): its files (always
   * new versions) win over the layer's where the user left what the last template wrote, or
   * deleted it, or never had it. Not over a version of the user's own: both are kept there, under
   * a conflict name this model does not predict (preload-merge.test.ts covers it). Into a folder
   * the user deleted, as a write there: the folder shows again, what the org layers have below it
   * stays hidden. Not into one the image has files under: the image is in no layer, so the preload
   * cannot hide its files (known, left alone).
   */
  async preload(): Promise<void> {
    const imageUnder = (d: string): boolean => Object.keys(IMAGE).some((q) => q.startsWith(`${d}/`));
    const usersOwn = (p: string): boolean => {
      const mine = this.user.get(p);
      return mine !== undefined && mine !== null && mine !== this.templated.get(p);
    };
    const paths = this.rng
      .shuffle([...OWN_PATHS, ...ORG_PATHS, ...Object.keys(IMAGE)])
      .slice(0, this.rng.range(1, 3))
      .filter((p) => !ancestors(p).some((a) => this.hidden.has(a) && imageUnder(a)) && !usersOwn(p));
    if (paths.length === 0) return;
    const from = join(this.dir, `template-${++this.versions}`);
    await mkdir(from, { recursive: true });
    const texts = paths.map((p) => [p, this.text(`template ${p}`)] as const);
    for (const [p, text] of texts) await put(from, p, text, this.tick());
    await preloadUserLayer(this.repo, USER, { from });
    for (const [p, text] of texts) {
      this.wrote(p, text, false);
      this.templated.set(p, text);
    }
    this.trace.push(`preload ${texts.map(([p, text]) => `${p} = ${text}`).join(', ')}`);
  }

  /** The admin assigns other org layers (strata admin assign): none, one, or both in either order. */
  async assign(): Promise<void> {
    this.assigned = this.rng.pick([[], ['org/dept'], ['org/team'], ['org/dept', 'org/team'], ['org/team', 'org/dept']]);
    await writeProfile(this.store, { version: 1, user: USER, displayName: '', layers: this.assigned, updated: new Date(this.tick()).toISOString() });
    this.trace.push(`assign ${this.assigned.join(', ') || 'no org layers'}`);
  }

  /**
   * One session: `vdi` on a machine reset to the image, `vdi-again` on the last VDI machine as it
   * was left (not reset), `vdi-wiped` on it after a sign-out that wiped the layer's folders
   * (logout --wipe), `vdi-kept` on it reset to the image with its state dir kept, `pc` on the persistent PC, which may have stayed signed in since its last
   * session (its agent then follows the org layers and syncs, as refresh.ts and agent.ts do).
   */
  async session(n: number, drawn: Kind): Promise<void> {
    const again = drawn === 'vdi-again' || drawn === 'vdi-wiped' || drawn === 'vdi-kept';
    const kind = again && this.lastVdi === undefined ? 'vdi' : drawn;
    const vdi = kind !== 'pc';
    let machine = kind === 'pc' ? this.pc : kind === 'vdi' ? undefined : this.lastVdi;
    if (machine === undefined) {
      const skew = this.rng.pick([0, 0, -3_600_000, 3_600_000, -365 * 86_400_000]);
      machine = { home: join(this.dir, `m${n}`, 'home'), stateDir: join(this.dir, `m${n}`, 'state'), signedIn: false, skew };
      await mkdir(machine.home, { recursive: true });
      if (vdi) for (const [p, text] of Object.entries(IMAGE)) await put(machine.home, p, text, Date.UTC(2025, 6, 1));
      if (vdi) machine.bootTime = await bootNow(join(this.dir, `m${n}`));
    } else if (kind === 'vdi-kept') {
      // Reset to the image, its state dir kept (on a volume the reset leaves alone).
      await rm(machine.home, { recursive: true });
      await mkdir(machine.home, { recursive: true });
      for (const [p, text] of Object.entries(IMAGE)) await put(machine.home, p, text, Date.UTC(2025, 6, 1));
      machine.bootTime = await bootNow(dirname(machine.home));
    } else if (kind === 'vdi-wiped') {
      // Its last sign-out wiped the layer's folders (logout --wipe); not reset since.
      for (const f of ['Documents', '.config']) await rm(join(machine.home, f), { recursive: true, force: true });
    }
    if (vdi) this.lastVdi = machine;
    else this.pc = machine;
    const { home, stateDir, skew } = machine;
    const pass = async (what: string): Promise<void> => {
      await this.keptWhiteouts(home);
      // The user confirms a pass that deletes most of the files (deleting a folder can).
      const r = await syncOnce({ stateDir, repo: await openRepository(this.store), folder: sessionFolder(await readSession(stateDir), stateDir), deletes: 'confirm', now: () => new Date(Date.now() + skew) });
      assert.equal(r.status, 'synced', `session ${n}: ${what}\n${this.trace.join('\n')}`);
      this.synced = { user: new Map(this.user), hidden: new Set(this.hidden) };
    };
    if (machine.signedIn) {
      this.trace.push(`session ${n}: the PC, still signed in`);
      await this.followOrg(stateDir, pass);
      await pass('the pass that brings the other sessions\' work');
      this.same(await files(home), this.expected(false), `session ${n}: home after the PC's pass`);
    } else {
      const story = { vdi: 'a reset VDI machine', 'vdi-again': 'the last VDI machine, not reset', 'vdi-wiped': 'the last VDI machine, wiped at sign-out', 'vdi-kept': 'the last VDI machine, reset with its state dir kept', pc: 'the PC' };
      this.trace.push(`session ${n}: sign-in on ${story[kind]}`);
      // Reset with its state dir kept, the machine may hold the user's own files there: the image's
      // bytes the layer never held show, and the first pass adopts them (lay.ts).
      if (kind === 'vdi-kept') {
        for (const p of this.coveredGone) {
          this.user.set(p, IMAGE[p]!);
          this.imageHeld.add(p);
        }
      }
      await this.signIn(n, machine, vdi ? 'vdi' : 'persistent');
      this.same(await files(home), this.expected(vdi && kind !== 'vdi-wiped'), `session ${n}: home right after the sign-in`);
      machine.signedIn = true;
      await pass('the first pass');
      if (vdi) this.coveredGone.clear();
    }
    if (vdi && !this.adopted) {
      for (const [p, text] of Object.entries(IMAGE)) {
        if (this.user.has(p)) continue;
        this.user.set(p, text);
        this.imageHeld.add(p);
      }
      this.adopted = true;
    }
    for (let k = this.rng.range(1, 4); k > 0; k--) await this.edit(home, n, vdi);
    this.same(await files(home), this.expected(false), `session ${n}: the model follows the edits`);
    await pass('the pass after the edits');
    if (!vdi && this.rng.chance(0.5)) return; // the PC stays signed in
    this.trace.push(`  sign-out`);
    if (vdi) await markHeadFinal(await openRepository(this.store), `user/${USER}`, (await openAgentState(stateDir)).deviceId);
    await deleteSession(stateDir);
    machine.signedIn = false;
  }

  /**
   * A sign-in's lay; on the PC one in three is cut off first (a crash, a kill) and laid again, as
   * `strata agent` does on finding the laying marker. Not on a VDI machine: a lay cut off there
   * records its base from the disk the first attempt left (a known imprecision: the files it laid
   * count as the image's, and an image folder a whiteout removed no longer shows what it held).
   */
  private async signIn(n: number, { stateDir, home, bootTime }: Machine, mode: 'vdi' | 'persistent'): Promise<void> {
    const { deviceId } = await openAgentState(stateDir);
    await writeSession(stateDir, { version: 1, source: 'test', org: this.configs[mode], user: USER, home, mode, device: deviceId, signedIn: new Date(this.tick()).toISOString() } satisfies Session);
    if (mode === 'persistent' && this.rng.chance(0.35)) {
      const cut = new AbortController();
      let events = this.rng.range(0, 3);
      this.trace.push(`  the lay is cut off after ${events} progress events`);
      await layHome({ store: this.store, session: await readSession(stateDir), stateDir, now: () => new Date(this.tick()), signal: cut.signal, onEvent: (e) => void (e.type === 'progress' && events-- <= 0 && cut.abort()) }).catch((err: unknown) => {
        assert.ok(cut.signal.aborted, `session ${n}: the lay failed on its own: ${String(err)}`);
      });
    }
    const laid = await layHome({ store: this.store, session: await readSession(stateDir), stateDir, now: () => new Date(this.tick()), ...(bootTime ? { bootTime } : {}) });
    assert.deepEqual(laid.conflicts, [], `session ${n}: no conflict copies\n${this.trace.join('\n')}`);
  }

  /** What the agent's follower does when the org published: records the switch, a pass makes it, the record goes. */
  private async followOrg(stateDir: string, pass: (what: string) => Promise<void>): Promise<void> {
    const session = await readSession(stateDir);
    const to = await changedOrgLayers(await openRepository(this.store), session);
    if (to === undefined || session.laid === undefined) return;
    this.trace.push(`  the PC switches to the org's latest version`);
    await writeSession(stateDir, { ...session, laid: { ...session.laid, org: to, orgBefore: session.laid.org } });
    await pass('the switch to the new org version');
    const switched = await readSession(stateDir);
    const { orgBefore: _, ...laid } = switched.laid!;
    await writeSession(stateDir, { ...switched, laid });
  }

  private underHidden(p: string): boolean {
    return ancestors(p).some((a) => this.hidden.has(a));
  }

  /** Whether something lies below `dir` on this machine: an org file, or the image's (only a VDI machine has the image as its base). */
  private below(dir: string, vdi: boolean): boolean {
    const under = (p: string): boolean => p.startsWith(`${dir}/`);
    return [...this.org.keys()].some(under) || (vdi && Object.keys(IMAGE).some(under));
  }

  private async edit(home: string, n: number, vdi: boolean): Promise<void> {
    // A PC deleting a folder the image has is left out: a PC has no base, and the image's folder
    // comes back on VDI with what the history cannot vouch for (lay.ts).
    const imageUnder = (p: string): boolean => p in IMAGE || Object.keys(IMAGE).some((q) => q.startsWith(`${p}/`));
    const disk = await files(home);
    const onDisk = [...disk.keys()].sort();
    // A PC deletes the image's files too (the next VDI sign-in finds them in the layer's history).
    const present = onDisk;
    const folders = [...new Set(present.flatMap(ancestors))].filter((d) => d.includes('/') && (vdi || !imageUnder(d))).sort();
    // Where a write lands under a hidden folder, the folder shows again, with whiteouts for what lies below it; a PC knows no image to hide.
    const writable = (p: string): boolean => vdi || !ancestors(p).some((a) => this.hidden.has(a) && imageUnder(a));
    const r = this.rng.next();
    if (r < 0.25 && present.length > 0) {
      const p = this.rng.pick(present);
      this.trace.push(`  delete ${p}`);
      await unlink(join(home, p));
      this.deleted(p, vdi);
    } else if (r < 0.35 && folders.length > 0) {
      const d = this.rng.pick(folders);
      this.trace.push(`  delete the folder ${d}`);
      await rm(join(home, d), { recursive: true });
      this.deletedFolder(d, vdi);
    } else if (r < 0.5 && present.length > 0) {
      // A rename of a file or a folder: a delete there, the same contents here.
      const from = this.rng.pick([...present, ...folders]);
      const isFolder = !present.includes(from);
      const to = `${this.rng.pick(['Documents', 'Documents/new', '.config/app', 'Documents/img', 'Documents/Policies'])}/m${++this.texts}${isFolder ? '' : '.txt'}`;
      const moved = isFolder ? onDisk.filter((p) => p.startsWith(`${from}/`)).map((p) => [p, `${to}${p.slice(from.length)}`]) : [[from, to]];
      if (to.startsWith(`${from}/`) || !moved.every(([, q]) => writable(q!))) return;
      this.trace.push(`  rename ${from} to ${to}`);
      const texts = new Map(moved.map(([p]) => [p!, disk.get(p!)!]));
      await mkdir(dirname(join(home, to)), { recursive: true });
      await rename(join(home, from), join(home, to));
      if (isFolder) this.deletedFolder(from, vdi);
      else this.deleted(from, vdi);
      for (const [p, q] of moved) this.wrote(q!, texts.get(p!)!, vdi);
    } else {
      const p = r < 0.7 && present.length > 0 ? this.rng.pick(present) : this.rng.pick([...OWN_PATHS, ...ORG_PATHS, ...Object.keys(IMAGE)]);
      if (!writable(p) || (!vdi && p in IMAGE)) return;
      const text = this.text(`s${n} ${p}`);
      this.trace.push(`  write ${p} = ${text}`);
      await put(home, p, text, this.tick());
      this.wrote(p, text, vdi);
    }
  }

  /** A file deleted: a whiteout where something lies below (the org's file, the image's); else a plain delete. */
  private deleted(p: string, vdi: boolean): void {
    // Deleted on a PC, an image file stays hidden from the next VDI session: the layer's history
    // holds the path (lay.ts, history-paths.ts). One only ever held with other bytes (a preload's,
    // over the image's) comes back on a machine reset with its state dir kept, until a VDI pass
    // writes its whiteout.
    this.coveredGone.delete(p);
    if (p in IMAGE && !vdi && !this.imageHeld.has(p)) this.coveredGone.add(p);
    if (this.org.has(p) || p in IMAGE) this.user.set(p, null);
    else this.user.delete(p);
  }

  /** A folder deleted with all it held (`onDisk`): one whiteout where something lies below it, else nothing is left of it. */
  private deletedFolder(d: string, vdi: boolean): void {
    const under = (p: string): boolean => p.startsWith(`${d}/`);
    for (const p of [...this.user.keys()]) if (under(p)) this.user.delete(p);
    for (const h of [...this.hidden]) if (under(h)) this.hidden.delete(h);
    if (this.below(d, vdi)) this.hidden.add(d);
  }

  /**
   * What a pass keeps of the whiteouts the last one left, whatever happened between the two: one
   * at a path the disk does not have, in a folder it has, stays (the user wrote there and deleted
   * it again, or deleted the folder and made it again: the pass sees neither).
   */
  private async keptWhiteouts(home: string): Promise<void> {
    const disk = await files(home, '', new Map(), true);
    const stays = (p: string): boolean => !disk.has(p) && !this.underHidden(p) && (!p.includes('/') || disk.get(dirname(p)) === 'dir');
    for (const [p, word] of this.synced.user) if (word === null && !this.user.has(p) && stays(p)) this.user.set(p, null);
    // A folder a preload put files in since is no longer hidden, though the disk does not have it yet.
    const written = (d: string): boolean => [...this.user].some(([p, word]) => word !== null && p.startsWith(`${d}/`));
    for (const d of this.synced.hidden) if (!this.hidden.has(d) && stays(d) && !written(d)) this.hidden.add(d);
  }

  /**
   * A file written: the user's word. A hidden folder above it shows again; what lies below it stays
   * hidden, each at its highest path not on the disk (a file's own word, or a folder hidden whole).
   */
  private wrote(p: string, text: string, vdi: boolean): void {
    const onPath = new Set(ancestors(p));
    for (const a of ancestors(p)) {
      if (!this.hidden.delete(a)) continue;
      const lying = [...this.org.keys(), ...(vdi ? Object.keys(IMAGE) : [])].filter((q) => q.startsWith(`${a}/`) && !this.user.has(q));
      for (const q of lying) {
        const top = [...ancestors(q), q].find((c) => c.startsWith(`${a}/`) && !onPath.has(c)) as string;
        if (top === q) this.user.set(q, null);
        else this.hidden.add(top);
      }
    }
    this.user.set(p, text);
    this.coveredGone.delete(p);
  }

  private same(actual: Map<string, string>, expected: Map<string, string>, what: string): void {
    const sorted = (m: Map<string, string>) => Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1)));
    assert.deepEqual(sorted(actual), sorted(expected), `${what}\n${this.trace.join('\n')}`);
  }
}

async function life(t: TestContext, seed: number): Promise<void> {
  const rng = makeRng(seed);
  const { dir, store, repo } = await memoryBucket(t, `sessions-${seed}`);
  const vdi = parseOrgConfig({ version: 1, org: 'acme', mode: 'vdi', store: { bucket: 'acme-strata' }, folders: ['Documents', '.config'] }, 'test');
  const configs = { vdi, persistent: parseOrgConfig({ ...vdi, mode: 'persistent' }, 'test') };
  await writeProfile(store, { version: 1, user: USER, displayName: '', layers: ['org/dept'], updated: new Date().toISOString() });
  const l = new Life(rng, dir, store, repo, configs);
  await l.publish('org/dept');
  await l.publish('org/team');
  for (let n = 1; n <= SESSIONS; n++) {
    if (n > 1 && rng.chance(0.4)) await l.publish();
    if (n > 1 && rng.chance(0.2)) await l.assign();
    if (n > 1 && rng.chance(0.15)) await l.preload();
    await l.session(n, rng.pick<Kind>(['vdi', 'vdi', 'vdi-again', 'vdi-wiped', 'vdi-kept', 'pc', 'pc']));
  }
  if (process.env.TRACE_LIFE) console.log(l.trace.join('\n'));
  await rm(dir, { recursive: true, force: true });
}

it('random sessions on reset VDI machines and a PC: every sign-in shows what the user left, over the org\'s latest version', async (t) => {
  const seed = testSeed('sign-in sessions');
  for (let k = 0; k < SEEDS; k++) await life(t, seed + k);
});

it('a PC signed out and in again removes an org file the org dropped meanwhile, instead of adopting it as the user\'s', async (t) => {
  const { dir, store, repo } = await memoryBucket(t, 'sessions-org-drop');
  const pc = parseOrgConfig({ version: 1, org: 'acme', mode: 'persistent', store: { bucket: 'acme-strata' }, folders: ['Documents'] }, 'test');
  await writeProfile(store, { version: 1, user: USER, displayName: '', layers: ['org/dept'], updated: new Date().toISOString() });
  const publish = async (name: string, files: Record<string, string>) => {
    for (const [p, text] of Object.entries(files)) await put(join(dir, name), p, text, Date.UTC(2026, 0, 1));
    await publishOrgLayer(repo, 'org/dept', { from: join(dir, name) });
  };
  await publish('v1', { 'Documents/policy.txt': 'policy', 'Documents/old.txt': 'to be dropped' });
  const home = join(dir, 'pc', 'home');
  const stateDir = join(dir, 'pc', 'state');
  await mkdir(home, { recursive: true });
  const signIn = async () => {
    const { deviceId } = await openAgentState(stateDir);
    await writeSession(stateDir, { version: 1, source: 'test', org: pc, user: USER, home, mode: 'persistent', device: deviceId, signedIn: new Date().toISOString() } satisfies Session);
    await layHome({ store, session: await readSession(stateDir), stateDir });
  };
  const signOut = async () => {
    const r = await syncOnce({ stateDir, repo: await openRepository(store), folder: sessionFolder(await readSession(stateDir), stateDir) });
    assert.equal(r.status, 'synced');
    await deleteSession(stateDir);
  };
  await signIn();
  assert.equal((await files(home)).get('Documents/old.txt'), 'to be dropped');
  await signOut();
  await publish('v2', { 'Documents/policy.txt': 'policy' });
  await signIn();
  assert.deepEqual([...(await files(home)).keys()], ['Documents/policy.txt'], 'the dropped org file is gone');
  await signOut();
  assert.equal((await latestTree(await openRepository(store), `user/${USER}`)).has('Documents/old.txt'), false, 'and the user layer never took it');
});
