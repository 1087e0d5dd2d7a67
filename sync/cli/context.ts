/**
 * Context: what every command shares: the parsed options, the store (opened once, wrapped in
 * RetryingStore over a CountingStore), the repository, the output streams, and the list of
 * things to close before the process ends. A command must never leave a handle open: the
 * process is expected to exit as soon as the command returns.
 */
import type { TerminalInput } from '../credentials/index.js';
import type { StrataError } from '../errors.js';
import { checkDeviceId, isLayerId } from '../repo/names.js';
import { openRepository, type OpenOptions, type Repository } from '../repo/index.js';
import type { ObjectStore } from '../store/index.js';
import { RetryingStore } from '../store/retrying.js';
import { openStore } from '../store/url.js';
import { requiredOption, stringOption, usageError, type ParsedArgs } from './args.js';
import { CountingStore, noRequests, type RequestCounts } from '../store/counting.js';
import { defaultDeviceId } from './device.js';
import { printable } from './format.js';
import { shortPath } from '../../shared/status-text.js';
import { ProgressBar, type ProgressSink } from './progress.js';

export interface Io {
  stdout: (text: string) => void;
  stderr: ProgressSink & { isTTY: boolean };
  env: NodeJS.ProcessEnv;
  /** Where `login` reads credentials from (default process.stdin). */
  stdin?: TerminalInput;
}

interface OpenedStore {
  /** The store as opened from the URL (S3Store, DirStore, MemoryStore). */
  raw: ObjectStore;
  counter: CountingStore;
  store: RetryingStore;
}

export class Context {
  readonly json: boolean;
  private opened: OpenedStore | undefined;
  private given: ObjectStore | undefined;
  private readonly closers: (() => Promise<void> | void)[] = [];

  constructor(
    readonly io: Io,
    readonly command: string,
    readonly args: ParsedArgs,
  ) {
    this.json = args.values.json === true;
  }

  /** --device, else the default; an invalid id is a usage error. */
  get device(): string {
    const given = stringOption(this.args, 'device');
    if (given === undefined) return defaultDeviceId();
    try {
      return checkDeviceId(given);
    } catch (err) {
      throw usageError(err instanceof Error ? err.message : String(err), this.command);
    }
  }

  /** --layer, required and valid. */
  get layer(): string {
    const layer = requiredOption(this.args, 'layer', this.command);
    if (!isLayerId(layer)) throw usageError(`invalid layer ${JSON.stringify(layer)}: must be user/<id> or org/<name>`, this.command);
    return layer;
  }

  /** Whether a store was named: --store or STRATA_STORE. */
  get hasStoreUrl(): boolean {
    return (stringOption(this.args, 'store') ?? this.io.env.STRATA_STORE ?? '') !== '';
  }

  /** Makes openStore open `raw` rather than --store's: the signed-in session's bucket (signed-in.ts). */
  useStore(raw: ObjectStore): void {
    if (this.opened) throw new Error('the store is open already');
    this.given = raw;
  }

  get storeUrl(): string {
    const url = stringOption(this.args, 'store') ?? this.io.env.STRATA_STORE;
    if (!url) throw usageError('no store: pass --store <url> or set STRATA_STORE', this.command);
    return url;
  }

  async openStore(): Promise<OpenedStore> {
    if (!this.opened) {
      const raw = this.given ?? (await openStore(this.storeUrl, this.io.env));
      const counter = new CountingStore(raw);
      this.opened = { raw, counter, store: new RetryingStore(counter) };
      this.onClose(() => closeStore(raw));
    }
    return this.opened;
  }

  async openRepository(opts: OpenOptions = {}): Promise<Repository> {
    const { store } = await this.openStore();
    return openRepository(store, opts);
  }

  /** Requests sent to the store so far, retries included. */
  get requests(): RequestCounts {
    return this.opened?.counter.counts ?? noRequests();
  }

  /** A progress line on stderr, or undefined when stderr is not a terminal. */
  progress(label: string): ProgressBar | undefined {
    if (!this.io.stderr.isTTY) return undefined;
    const bar = new ProgressBar(this.io.stderr, label);
    this.onClose(() => bar.done());
    return bar;
  }

  onClose(fn: () => Promise<void> | void): void {
    this.closers.push(fn);
  }

  /** Runs every closer, last registered first; a failing closer does not stop the others. */
  async close(): Promise<void> {
    let first: unknown;
    for (const fn of this.closers.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  }

  /** Text output: one line per element, made printable (a name in it cannot break the line). */
  print(...lines: string[]): void {
    if (lines.length > 0) this.io.stdout(lines.map(printable).join('\n') + '\n');
  }

  /** The one JSON object a --json run prints. */
  printJson(value: unknown): void {
    this.io.stdout(JSON.stringify(value, null, 2) + '\n');
  }

  warn(err: StrataError | string): void {
    this.io.stderr.write(`strata: warning: ${printable(typeof err === 'string' ? err : err.toString(shortPath))}\n`);
  }
}

/** Releases a store's connections: S3 clients keep sockets that would hold the process open. */
async function closeStore(store: ObjectStore): Promise<void> {
  const s = store as { close?: () => Promise<void> | void; client?: { destroy?: () => void } };
  if (typeof s.close === 'function') await s.close();
  else s.client?.destroy?.();
}
