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
 * - `heal()`: route around the FaultyStore for the final convergence.
 *
 * One instance per opened Repository: a crashed process's background uploads stay dead.
 */
import type { Readable } from 'node:stream';
import { StrataError } from '../../errors.js';
import type { ByteRange, ListOptions, ObjectInfo, ObjectStore, PartialUpload, PutBody } from '../../store/index.js';

export const CRASH = 'E_SIM_CRASH';

type Trip = { at: number; crash: true; landPut: boolean } | { at: number; crash: false; action: () => void };

export class Tripwire implements ObjectStore {
  readonly location: string;
  readonly abort = new AbortController();
  requests = 0;
  dead = false;
  private trip: Trip | undefined;
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

  disarm(): void {
    this.trip = undefined;
  }

  /** Counts a request and fires the trip; returns true if this put must land before dying. */
  private enter(key: string, isPut = false): boolean {
    if (this.dead) throw crashed(key);
    this.requests++;
    const t = this.trip;
    if (t === undefined || this.requests < t.at) return false;
    this.trip = undefined;
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
    await this.inner.put(key, body);
    if (land) throw crashed(key);
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    this.enter(key);
    return this.inner.get(key, range);
  }

  async getStream(key: string, range?: ByteRange): Promise<Readable> {
    this.enter(key);
    return this.inner.getStream(key, range);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    this.enter(key);
    return this.inner.head(key);
  }

  async *list(prefix: string, opts?: ListOptions): AsyncIterable<ObjectInfo> {
    this.enter(prefix);
    for await (const info of this.inner.list(prefix, opts)) {
      if (this.dead) throw crashed(prefix);
      yield info;
    }
  }

  async delete(key: string): Promise<void> {
    this.enter(key);
    return this.inner.delete(key);
  }

  async *listUploads(prefix: string): AsyncIterable<PartialUpload> {
    this.enter(prefix);
    yield* this.inner.listUploads(prefix);
  }

  async abortUpload(upload: PartialUpload): Promise<void> {
    this.enter(upload.key);
    return this.inner.abortUpload(upload);
  }
}

function crashed(key: string): StrataError {
  return new StrataError(CRASH, 'the simulated agent process crashed', { key });
}
