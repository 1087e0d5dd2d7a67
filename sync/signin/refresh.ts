/**
 * Org layers between sign-ins (DESIGN §1, §4). A persistent PC signs in once; afterwards the tray
 * or an autostart entry runs `strata agent` from the stored session, often for weeks. An admin's
 * new version of an org layer, or a new assignment, must reach it without a sign-in, and without
 * taking the org files the user has not touched for the user's own. So while the agent runs, the
 * follower (OrgLayerFollower) checks at start and every interval (changedOrgLayers: the profile's
 * org layers at their latest snapshots, against the session's `laid.org`), and when they changed
 *
 *   1. records the switch in the session, durably, before anything else: `laid.org` the new org
 *      layers, `laid.orgBefore` the ones home was laid from (a restart, a logout's flush, a later
 *      sign-in go on from there: sessionFolder hands both to the agent);
 *   2. hands it to the agent (switchLower): its next pass reads the disk against both versions,
 *      path by path, and takes it to the new one — untouched org files update or go, new ones
 *      come, the user's copy-ups and whiteouts stay on top — through the apply's usual checks
 *      against a user writing at the same moment, recorded like a merge so that a pass cut off
 *      half-way is finished, not taken for the user's edits (agent/folder.ts);
 *   3. once a pass has synced it, drops `laid.orgBefore`.
 *
 * A version this machine has not laid is read whole before step 1 (checkLayable): one that is
 * damaged or hostile is refused with a check-failed naming it, nothing recorded or removed, and
 * the agent syncs on over the layers it has; later checks refuse it again without reading it
 * (versions are immutable), until a newer one is published. No check runs while sync is paused
 * (paused means no store requests: a pause that comes while one reads the bucket ends it, its
 * next request refused, nothing recorded) or a switch is still in progress. A failed check (offline, the
 * bucket refuses) is reported and tried again at the next interval; the agent syncs on over the
 * layers it has. So is a profile missing while org layers are laid: an admin unassigns them with
 * a profile of no layers, never by its absence (a mistaken delete, a read that misses it).
 */
import { syncOnce, type Agent, type PassResult } from '../agent/index.js';
import { isStrataError, StrataError } from '../errors.js';
import { keys, openRepository, type Repository } from '../repo/index.js';
import type { FileChunker } from '../snapshot/index.js';
import type { ByteRange, ListOptions, ObjectInfo, ObjectStore, PutBody } from '../store/index.js';
import { ForwardingStore } from '../store/forwarding.js';
import type { Readable } from 'node:stream';
import { sessionFolder } from './folder.js';
import { assignedOrgLayers, checkLayable, latestLayers } from './layers.js';
import { writeSession, type LaidLayer, type Session } from './session.js';

/** Default interval between checks: an admin's new version reaches running agents within this. */
export const ORG_CHECK_MS = 5 * 60_000;

/**
 * The org layers to lay now, lowest first, when they are not the ones the session laid; else
 * undefined. A layer still assigned that this machine laid, yet with no version in the bucket now,
 * is no unassignment: versions are never unpublished, so its heads are lost or unreadable, and
 * leaving it out would remove its files from the disk. That fails with E_ORG_LAYER_GONE; a profile
 * gone missing while org layers are laid, with E_PROFILE_MISSING (assignedOrgLayers).
 */
export async function changedOrgLayers(repo: Repository, session: Session): Promise<LaidLayer[] | undefined> {
  const before = session.laid?.org ?? [];
  const { laid, unpublished } = await latestLayers(repo, await assignedOrgLayers(repo, session.user, before.length > 0));
  const gone = unpublished.find((layer) => before.some((l) => l.layer === layer));
  if (gone !== undefined) {
    throw new StrataError('E_ORG_LAYER_GONE', `${gone} is assigned and laid here, but the bucket shows no version of it now; the layers laid now are kept`, { key: keys.heads(gone) });
  }
  const same = laid.length === before.length && laid.every((l, i) => l.layer === before[i]?.layer && l.snapshot === before[i]?.snapshot);
  return same ? undefined : laid;
}

/** One full sync pass of the session's folder over its org layers (logout's flush). */
export function flushSession(repo: Repository, session: Session, stateDir: string, chunker?: FileChunker): Promise<PassResult> {
  return syncOnce({ stateDir, repo, folder: sessionFolder(session, stateDir), chunker });
}

export type FollowEvent =
  /** The org layers changed: the switch is recorded, and the agent's next pass makes it. */
  | { type: 'switching'; from: LaidLayer[]; to: LaidLayer[] }
  /** A pass has synced the switch: home is laid from `org`. */
  | { type: 'switched'; org: LaidLayer[] }
  /** A check, or recording its outcome, failed; the next interval tries again. */
  | { type: 'check-failed'; error: unknown };

export interface FollowOptions {
  stateDir: string;
  /** The org's bucket, with the user's credentials. */
  store: ObjectStore;
  /** The running agent on the session's folder (startSessionAgent). */
  agent: Pick<Agent, 'paused' | 'switchLower' | 'lowerSwitched'>;
  /** The session the agent was started from. */
  session: Session;
  /** Milliseconds between checks (default ORG_CHECK_MS); 0: only the check at start. */
  intervalMs?: number;
  onEvent?: (e: FollowEvent) => void;
}

/** The follower's bucket: each request is refused (E_PAUSED) while sync is paused. */
class UnlessPaused extends ForwardingStore {
  constructor(
    inner: ObjectStore,
    private readonly paused: () => boolean,
  ) {
    super(inner);
  }

  private check(): void {
    if (this.paused()) throw new StrataError('E_PAUSED', 'sync was paused');
  }

  override async put(key: string, body: PutBody): Promise<void> {
    this.check();
    return super.put(key, body);
  }

  override async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    this.check();
    return super.get(key, range);
  }

  override async getStream(key: string, range?: ByteRange): Promise<Readable> {
    this.check();
    return super.getStream(key, range);
  }

  override async head(key: string): Promise<ObjectInfo | undefined> {
    this.check();
    return super.head(key);
  }

  override async *list(prefix: string, opts?: ListOptions): AsyncIterable<ObjectInfo> {
    this.check();
    // A listing of many pages asks for each as it goes: one after a pause is refused too.
    for await (const o of super.list(prefix, opts)) {
      this.check();
      yield o;
    }
  }

  override async delete(key: string): Promise<void> {
    this.check();
    return super.delete(key);
  }
}

export class OrgLayerFollower {
  private session: Session;
  /** opts.store, refusing requests while sync is paused. */
  private readonly store: ObjectStore;
  private repo: Repository | undefined;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  /** Waiting for the agent to sync a switch. */
  private awaiting = false;
  private stopped = false;
  /** Versions checkLayable refused, by snapshot id. */
  private readonly refused = new Map<string, StrataError>();

  /** Starts following: a switch the session records as in progress is awaited, and the first check runs now. */
  constructor(private readonly opts: FollowOptions) {
    this.session = opts.session;
    this.store = new UnlessPaused(opts.store, () => opts.agent.paused);
    const interval = opts.intervalMs ?? ORG_CHECK_MS;
    if (interval > 0) this.timer = setInterval(() => void this.check(), interval).unref();
    void this.check();
  }

  /** Checks the org layers now (joins a check already running); never rejects: failures are events. */
  check(): Promise<void> {
    this.checking ??= this.checkOnce().finally(() => (this.checking = undefined));
    return this.checking;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  private async checkOnce(): Promise<void> {
    const laid = this.session.laid;
    if (this.stopped || laid === undefined) return;
    if (laid.orgBefore !== undefined) {
      // A switch in progress (from an earlier start, or one whose end could not be recorded).
      if (!this.awaiting) this.awaitSwitch();
      return;
    }
    if (this.opts.agent.paused) return;
    let to: LaidLayer[] | undefined;
    try {
      this.repo ??= await openRepository(this.store, { loadIndex: false });
      to = await changedOrgLayers(this.repo, this.session);
      if (to === undefined || this.stopped) return;
      // A version this machine has not laid is read whole first: a damaged one is refused here.
      const laidNow = new Set(laid.org.map((l) => l.snapshot));
      const fresh = to.filter((l) => !laidNow.has(l.snapshot));
      if (fresh.length > 0) await this.checkVersions(fresh);
      // Paused meanwhile: nothing is recorded; the first check after resuming starts again.
      if (this.stopped || this.opts.agent.paused) return;
      const switching: Session = { ...this.session, laid: { ...laid, org: to, orgBefore: laid.org } };
      await writeSession(this.opts.stateDir, switching);
      this.session = switching;
    } catch (error) {
      // Paused: no failure; the first check after resuming starts again.
      if (!isStrataError(error, 'E_PAUSED')) this.emit({ type: 'check-failed', error });
      return;
    }
    this.emit({ type: 'switching', from: laid.org, to });
    const roots = (layers: readonly LaidLayer[]): string[] => layers.map((l) => l.root);
    const rootKeys = new Map([...to, ...laid.org].map((l) => [l.root, keys.snapshot(l.layer, l.snapshot)]));
    this.opts.agent.switchLower(this.session.home, roots(to), roots(laid.org), rootKeys);
    this.awaitSwitch();
  }

  /** checkLayable, remembering the versions it refuses: reading a version means reading every index of the bucket. */
  private async checkVersions(fresh: readonly LaidLayer[]): Promise<void> {
    const known = fresh.map((l) => this.refused.get(l.snapshot)).find((e) => e !== undefined);
    if (known !== undefined) throw known;
    const repo = await openRepository(this.store);
    for (const l of fresh) {
      await checkLayable(repo, [l]).catch((err: unknown) => {
        if (isStrataError(err, 'E_ORG_VERSION_REFUSED')) this.refused.set(l.snapshot, err);
        throw err;
      });
    }
  }

  /** Once the agent has synced the switch, the session forgets the old org layers. */
  private awaitSwitch(): void {
    this.awaiting = true;
    void this.opts.agent.lowerSwitched(this.session.home).then(async () => {
      if (this.stopped || this.session.laid === undefined) return;
      const { orgBefore: _, ...done } = this.session.laid;
      const session: Session = { ...this.session, laid: done };
      try {
        await writeSession(this.opts.stateDir, session);
        this.session = session;
        this.emit({ type: 'switched', org: done.org });
      } catch (error) {
        // The session still says "switching": the next check records the end again.
        this.emit({ type: 'check-failed', error });
      } finally {
        this.awaiting = false;
      }
    });
  }

  private emit(e: FollowEvent): void {
    try {
      this.opts.onEvent?.(e);
    } catch {
      // A listener's failure is its own.
    }
  }
}
