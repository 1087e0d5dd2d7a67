/**
 * What the sign-in benchmark records (JSON-ready, no functions), and how one run of the sign-in
 * child becomes a record: its time to ready and total as the harness measured them, the bytes its
 * `ready` and `done` events report, and where the time went between its lines (pure, tested).
 */
import type { FloorRecord } from './fs-floor.js';
import type { Transfer } from '../signin/index.js';
import type { ChildLine, ChildRun } from './signin-proc.js';

export type CaseName = 'empty' | 'golden';

export interface ChunkStats {
  files: number;
  bytes: number;
  /** Milliseconds with at least one file being chunked. */
  busyMs: number;
}

/** Seconds between the child's lines; absent where a line is missing. */
export interface Breakdown {
  /** Spawn → first line: node start and module loading. */
  startup?: number;
  /** Org config, signed read of the repository, state dir, session file. */
  open?: number;
  /** Profile, latest snapshots, index, every tree, the effective tree. */
  layers?: number;
  /** First contact, tree writes, then the ready restore's plan, folders and seed scan. */
  readyPrep?: number;
  /** The ready files: seed copies, downloads, file writes. */
  readyFill?: number;
  /** The rest restore's plan, folders and seed scan. */
  restPrep?: number;
  /** The large files, then the device head and the session. */
  restFill?: number;
  /** `done` → exit: closing the pool and the sockets. */
  exit?: number;
}

export interface CaseRecord {
  /** What home held before the sign-in. */
  present: { files: number; bytes: number };
  readySeconds?: number;
  seconds?: number;
  ready?: Transfer;
  done?: Transfer;
  conflicts?: number;
  removed?: number;
  /** Requests and bytes fetched from the store (packs, trees, index: wire bytes). */
  store?: { readyGets: number; readyFetched: number; gets: number; fetched: number };
  /** Local files chunked (first contact, seed scans), until ready and in all. */
  chunked?: { ready: ChunkStats; done: ChunkStats };
  breakdown?: Breakdown;
  /** Differences from the corpus after the sign-in (empty: exact). */
  problems?: string[];
  error?: string;
}

export interface PeerRecord {
  version: string;
  uploadSeconds?: number;
  /** The full restore into an empty dir. */
  seconds?: number;
  problems?: string[];
  error?: string;
}

export interface SignInResults {
  cache: 'cold' | 'warm';
  corpus: {
    seed: number;
    files: number;
    bytes: number;
    roles: Record<string, { files: number; bytes: number }>;
    hotPaths: string[];
    smallFileBytes: number;
    /** The files `ready` covers: hot paths and small files. */
    readySet: { files: number; bytes: number };
  };
  strata: { version: string; uploadSeconds?: number; error?: string };
  cases: Partial<Record<CaseName, CaseRecord>>;
  restic?: PeerRecord;
  rclone?: PeerRecord;
  /** The ready set written from memory (fs-floor.ts): what creating its files costs here. */
  floor?: FloorRecord;
}

function transfer(l: ChildLine | undefined): Transfer | undefined {
  if (!l) return undefined;
  const n = (k: string): number => (typeof l[k] === 'number' ? (l[k] as number) : 0);
  return { files: n('files'), bytes: n('bytes'), bytesDownloaded: n('bytesDownloaded'), bytesSeeded: n('bytesSeeded'), bytesReused: n('bytesReused') };
}

function chunkedOf(l: ChildLine): ChunkStats {
  const c = l.chunked as Partial<ChunkStats> | undefined;
  return { files: c?.files ?? 0, bytes: c?.bytes ?? 0, busyMs: c?.busyMs ?? 0 };
}

const num = (l: ChildLine, k: string): number => (typeof l[k] === 'number' ? (l[k] as number) : 0);

/** The record of one sign-in from the child's run (problems are added by the caller). */
export function caseFromRun(run: ChildRun, present: CaseRecord['present']): CaseRecord {
  const find = (type: string, extra?: (l: ChildLine) => boolean): ChildLine | undefined => run.lines.find((l) => l.type === type && (extra?.(l) ?? true));
  const start = find('mark', (l) => l.name === 'start');
  const verified = find('mark', (l) => l.name === 'verified');
  const layers = find('layers');
  const readyFirst = find('first-progress', (l) => l.phase === 'ready');
  const ready = find('ready');
  const restFirst = find('first-progress', (l) => l.phase === 'rest');
  const done = find('done');
  const between = (a: ChildLine | undefined, b: ChildLine | undefined): number | undefined => (a && b ? (b.ms - a.ms) / 1000 : undefined);
  const breakdown: Breakdown = {
    startup: start?.at,
    open: between(start, verified),
    layers: between(verified, layers),
    readyPrep: between(layers, readyFirst),
    readyFill: between(readyFirst, ready),
    restPrep: restFirst ? between(ready, restFirst) : undefined,
    restFill: restFirst ? between(restFirst, done) : between(ready, done),
    exit: done ? run.seconds - done.at : undefined,
  };
  const record: CaseRecord = { present, readySeconds: run.readySeconds, seconds: run.seconds, breakdown };
  const readyT = transfer(ready);
  if (readyT) record.ready = readyT;
  const doneT = transfer(done);
  if (doneT && done) {
    record.done = doneT;
    record.conflicts = num(done, 'conflicts');
    record.removed = num(done, 'removed');
  }
  if (ready && done) {
    record.store = { readyGets: num(ready, 'gets'), readyFetched: num(ready, 'bytesFetched'), gets: num(done, 'gets'), fetched: num(done, 'bytesFetched') };
    record.chunked = { ready: chunkedOf(ready), done: chunkedOf(done) };
  }
  return record;
}
