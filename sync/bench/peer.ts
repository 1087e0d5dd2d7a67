/**
 * What the scenario asks of every tool. Each tool runs as a child process against its own
 * bucket on the same S3 server; the harness times the process and checks what it restored.
 */
import type { S3TestEnv } from '../testing/s3.js';
import type { Tool } from './options.js';

export interface PhaseResult {
  /** Wall-clock seconds of the tool's process(es), measured by the harness. */
  seconds: number;
  /** Bytes the tool says it sent to the store (restic: data_added, after compression). */
  bytesUploaded?: number;
  /** Bytes the tool says it fetched from the store. */
  bytesDownloaded?: number;
  /** Bytes the tool copied from local files instead of downloading (Strata's seeding). */
  bytesSeeded?: number;
  /** Request counts by kind, when the tool reports them. */
  requests?: Record<string, number>;
  /** The tool's own figure for its duration, when it reports one. */
  toolSeconds?: number;
  note?: string;
}

export interface RestoreResult extends PhaseResult {
  /** Where the files landed, for the harness to check against the manifest. */
  target: string;
}

export interface PeerContext {
  s3: S3TestEnv;
  /** A temp dir this tool may use for its config, caches and state. */
  work: string;
  /** The rclone config file with remote `bench` (restic reaches S3 through rclone too). */
  rcloneConfig: string;
  /** Unique per run, so buckets on a shared server never collide. */
  runId: string;
  /** Strata's CLI entry point: dist/bundle/strata.js, built by `npm run build` at the start of the run (dist.ts). */
  strataCli: string;
}

export interface Peer {
  tool: Tool;
  /** The tool's version line, for the report. */
  version(): Promise<string>;
  /** Creates the bucket and the repository; not timed. */
  init(): Promise<void>;
  /** First backup of `dir`. */
  upload(dir: string): Promise<PhaseResult>;
  /** Full restore of the latest backup into the empty dir `target`. */
  restore(target: string): Promise<RestoreResult>;
  /**
   * Restore when most files are already on the machine. `present` holds them (a copy the tool
   * may change); `empty` is an empty dir. Each tool uses them the way it can: Strata seeds from
   * `present` into `empty`, rclone and restic restore over `present`.
   */
  restoreWithPresent(present: string, empty: string): Promise<RestoreResult>;
  /** Backup of `dir` again after a small change. */
  incremental(dir: string): Promise<PhaseResult>;
  /** Removes the bucket (only needed on a server this run did not start). */
  destroy(): Promise<void>;
}

/** The environment for rclone and restic: rclone fails to load a custom CA bundle for http. */
export function peerEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.AWS_CA_BUNDLE;
  return env;
}

export function bucketName(ctx: PeerContext, tool: Tool): string {
  return `bench-${tool}-${ctx.runId}`.toLowerCase().slice(0, 63);
}
