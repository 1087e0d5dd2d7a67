/**
 * Tripwire: the store one simulated agent process sees. It sits between that process's
 * Repository and the device's FaultyStore, and lets the simulation act at the n-th request:
 *
 * - `crashAt(n)`: the process dies there. The n-th request and every later one fail (a put may or
 *   may not have landed, as with a real crash), and the pass's AbortSignal fires, so neither the
 *   store nor the disk sees anything more from this process. The device then reopens with a new
 *   Tripwire, as a restarted agent would.
 * - `actAt(n, action)`: run `action` (a user editing files) synchronously when the n-th request
 *   starts, i.e. while a pass is in the middle of its work.
 * - `holdAt(n, action)`: the n-th request waits until `action` (another device's whole pass) is
 *   over, so that pass crosses this one: each reads the other's head from before.
 * - `heal()`: route around the FaultyStore for the final convergence.
 *
 * One instance per opened Repository: a crashed process's background uploads stay dead.
 */
import type { Readable } from 'node:stream';
import { StrataError } from '../../errors.js';
import type { ByteRange, ListOptions, ObjectInfo, ObjectStore, PartialUpload, PutBody } from '../../store/index.js';

export const CRASH = 'E_SIM_CRASH';

type Trip = { at: number; crash: true; landPut: boolean } | { at: number; crash: false; action: () => void } | { at: number; crash: 'hold'; action: () => Promise<void> };

export class Tripwire implements ObjectStore {
  readonly location: string;
  readonly abort = new AbortController();
  requests = 0;
  dead = false;
  private trip: Trip | undefined;
  /** What the request that met a hold waits for. */
  private held: Promise<void> | undefined;
  private healed = false;

  constructor(
    private readonly faulty: ObjectStore,
    private readonly clean: ObjectStore,
  ) {
    this.location = clean.location;
  }

  private get inner(): ObjectStore {
    return this.healed ? this.clean : this.faulty;
  }

  heal(): void {
    this.healed = true;
  }

  /** Dies at the n-th request from now; a put there lands first when `landPut`. */
  crashAt(n: number, landPut: boolean): void {
    this.trip = { at: this.requests + n, crash: true, landPut };
  }

  actAt(n: number, action: () => void): void {
    this.trip = { at: this.requests + n, crash: false, action };
  }

  holdAt(n: number, action: () => Promise<void>): void {
    this.trip = { at: this.requests + n, crash: 'hold', action };
  }

  disarm(): void {
    this.trip = undefined;
  }

  /** The hold the last request met: it goes on once that is over (called only then, so other requests keep their timing). */
  private async wait(): Promise<void> {
    const held = this.held;
    this.held = undefined;
    await held;
  }

  /** Counts a request and fires the trip; returns true if this put must land before dying. */
  private enter(key: string, isPut = false): boolean {
    if (this.dead) throw crashed(key);
    this.requests++;
    const t = this.trip;
    if (t === undefined || this.requests < t.at) return false;
    this.trip = undefined;
    if (t.crash === 'hold') {
      this.held = t.action();
      return false;
    }
    if (!t.crash) {
      t.action();
      return false;
    }
    this.dead = true;
    this.abort.abort(crashed(key));
    if (isPut && t.landPut) return true;
    throw crashed(key);
  }

  async put(key: string, body: PutBody): Promise<void> {
    const land = this.enter(key, true);
    if (this.held) await this.wait();
    await this.inner.put(key, body);
    if (land) throw crashed(key);
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    this.enter(key);
    if (this.held) await this.wait();
    return this.inner.get(key, range);
  }

  async getStream(key: string, range?: ByteRange): Promise<Readable> {
    this.enter(key);
    if (this.held) await this.wait();
    return this.inner.getStream(key, range);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    this.enter(key);
    if (this.held) await this.wait();
    return this.inner.head(key);
  }

  async *list(prefix: string, opts?: ListOptions): AsyncIterable<ObjectInfo> {
    this.enter(prefix);
    if (this.held) await this.wait();
    for await (const info of this.inner.list(prefix, opts)) {
      if (this.dead) throw crashed(prefix);
      yield info;
    }
  }

  async delete(key: string): Promise<void> {
    this.enter(key);
    if (this.held) await this.wait();
    return this.inner.delete(key);
  }

  async *listUploads(prefix: string): AsyncIterable<PartialUpload> {
    this.enter(prefix);
    if (this.held) await this.wait();
    yield* this.inner.listUploads(prefix);
  }

  async abortUpload(upload: PartialUpload): Promise<void> {
    this.enter(upload.key);
    if (this.held) await this.wait();
    return this.inner.abortUpload(upload);
  }
}

function crashed(key: string): StrataError {
  return new StrataError(CRASH, 'the simulated agent process crashed', { key });
}
