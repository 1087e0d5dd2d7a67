/**
 * Strata as a peer, through its CLI as a child process, like the others: `node dist/bundle/
 * strata.js`, as built by `npm run build` at the start of the run (dist.ts), which is what
 * bin/strata.js runs where only the build ships. Every command runs with --json; its report gives
 * the bytes and request counts the table shows.
 *
 * The store is `s3://<bucket>/repo?endpoint=…&region=…&pathStyle=true` with credentials in
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, as sync/store/url.ts expects.
 */
import { join } from 'node:path';
import { StrataError } from '../errors.js';
import { bucketName, peerEnv, type Peer, type PeerContext, type PhaseResult, type RestoreResult } from './peer.js';
import { run, type RunResult } from './proc.js';
import { REPO_ROOT } from './swift.js';

export const LAYER = 'user/bench';
const DEVICE = 'bench-machine';

/** The fields of a `--json` snapshot/restore report the benchmark uses. */
export interface StrataReport {
  files: number;
  bytes: number;
  bytesUploaded: number;
  bytesDownloaded: number;
  bytesSeeded: number;
  requests: Record<string, number>;
  seconds: number;
}

export function parseStrataReport(stdout: string, what: string): StrataReport {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new StrataError('E_BENCH_TOOL', `strata ${what} --json did not print one JSON object: ${stdout.slice(0, 200)}`);
  }
  const r = parsed as Partial<StrataReport>;
  for (const field of ['files', 'bytes', 'bytesUploaded', 'bytesDownloaded', 'seconds'] as const) {
    if (typeof r[field] !== 'number') throw new StrataError('E_BENCH_TOOL', `strata ${what} --json: field ${field} is missing or not a number`);
  }
  if (typeof r.requests !== 'object' || r.requests === null) throw new StrataError('E_BENCH_TOOL', `strata ${what} --json: no requests object`);
  return { bytesSeeded: 0, ...r } as StrataReport;
}

function toPhase(run: RunResult, report: StrataReport): PhaseResult {
  return {
    seconds: run.seconds,
    toolSeconds: report.seconds,
    bytesUploaded: report.bytesUploaded,
    bytesDownloaded: report.bytesDownloaded,
    bytesSeeded: report.bytesSeeded,
    requests: report.requests,
  };
}

export class StrataPeer implements Peer {
  readonly tool = 'strata' as const;
  private readonly store: string;
  private readonly bucket: string;

  constructor(private readonly ctx: PeerContext, bucketLabel = '') {
    this.bucket = bucketName(ctx, 'strata') + bucketLabel;
    const q = new URLSearchParams({ endpoint: ctx.s3.endpoint, region: ctx.s3.region, pathStyle: 'true' });
    this.store = `s3://${this.bucket}/repo?${q.toString()}`;
  }

  private strata(args: string[]): Promise<RunResult> {
    const env = {
      ...process.env,
      AWS_ACCESS_KEY_ID: this.ctx.s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: this.ctx.s3.secretAccessKey,
      AWS_REGION: this.ctx.s3.region,
      HOME: this.ctx.work,
      XDG_CONFIG_HOME: join(this.ctx.work, 'config'),
      XDG_CACHE_HOME: join(this.ctx.work, 'cache'),
      XDG_STATE_HOME: join(this.ctx.work, 'state'),
    };
    return run(process.execPath, [this.ctx.strataCli, ...args, '--store', this.store, '--device', DEVICE, '--json'], { env });
  }

  private async command(what: string, args: string[]): Promise<PhaseResult> {
    const r = await this.strata([what, ...args]);
    return toPhase(r, parseStrataReport(r.stdout, what));
  }

  async version(): Promise<string> {
    const head = await run('git', ['-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD']).then((r) => r.stdout.trim(), () => 'unknown');
    const dirty = await run('git', ['-C', REPO_ROOT, 'status', '--porcelain', '--', 'sync', 'shared', 'bin']).then((r) => (r.stdout.trim() ? '+uncommitted' : ''), () => '');
    return `strata (git ${head}${dirty}, npm run build → dist/bundle/), node ${process.version}`;
  }

  async init(): Promise<void> {
    await this.strata(['init']);
  }

  upload(dir: string): Promise<PhaseResult> {
    return this.command('snapshot', [dir, '--layer', LAYER]);
  }

  incremental(dir: string): Promise<PhaseResult> {
    return this.command('snapshot', [dir, '--layer', LAYER]);
  }

  async restore(target: string): Promise<RestoreResult> {
    return { ...(await this.command('restore', [target, '--layer', LAYER])), target };
  }

  async restoreWithPresent(present: string, empty: string): Promise<RestoreResult> {
    const result = await this.command('restore', [empty, '--layer', LAYER, '--seed', present]);
    return { ...result, target: empty, note: 'into an empty dir, seeding from the present files' };
  }

  async destroy(): Promise<void> {
    await run('rclone', ['--config', this.ctx.rcloneConfig, 'purge', `bench:${this.bucket}`], { env: peerEnv(), cleanup: true }).catch(() => {});
  }
}
