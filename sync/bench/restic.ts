/**
 * restic as a peer. Debian's restic 0.14 cannot use Swift through its own S3 backend (its
 * aws-chunked uploads are refused), so it reaches the bucket through `rclone serve restic`
 * (`-r rclone:bench:<bucket>/repo`), with restic's default 5 rclone connections.
 *
 * Backups run from inside the corpus (`restic backup .`) so a restore lands at the target's
 * root. Restores use a fresh cache dir, as on a machine that has never seen the repository;
 * backups keep one cache, as a machine that backs up regularly does. restic 0.14 restores every
 * file, whether or not the target already holds it.
 */
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError } from '../errors.js';
import { bucketName, peerEnv, type Peer, type PeerContext, type PhaseResult, type RestoreResult } from './peer.js';
import { run } from './proc.js';
import { REMOTE } from './rclone.js';

const PASSWORD = 'strata-bench';

interface ResticSummary {
  message_type: 'summary';
  data_added: number;
  total_bytes_processed: number;
  total_duration: number;
  files_new: number;
  files_changed: number;
}

/** The summary line of `restic backup --json`. */
export function parseResticSummary(stdout: string): ResticSummary {
  for (const line of stdout.trim().split('\n').reverse()) {
    if (!line.includes('"summary"')) continue;
    const parsed = JSON.parse(line) as Partial<ResticSummary>;
    if (parsed.message_type === 'summary' && typeof parsed.data_added === 'number') return parsed as ResticSummary;
  }
  throw new StrataError('E_BENCH_TOOL', 'restic backup --json printed no summary line');
}

export class ResticPeer implements Peer {
  readonly tool = 'restic' as const;
  private readonly repo: string;
  private readonly backupCache: string;

  constructor(private readonly ctx: PeerContext) {
    this.repo = `rclone:${REMOTE}:${bucketName(ctx, 'restic')}/repo`;
    this.backupCache = join(ctx.work, 'cache-backup');
  }

  private restic(args: string[], cacheDir: string, cwd?: string): ReturnType<typeof run> {
    const env = peerEnv({ RCLONE_CONFIG: this.ctx.rcloneConfig, RESTIC_PASSWORD: PASSWORD });
    return run('restic', ['-r', this.repo, '-o', 'rclone.program=rclone', '--cache-dir', cacheDir, ...args], { env, ...(cwd ? { cwd } : {}) });
  }

  async version(): Promise<string> {
    return (await run('restic', ['version'])).stdout.trim();
  }

  async init(): Promise<void> {
    await run('rclone', ['--config', this.ctx.rcloneConfig, 'mkdir', `${REMOTE}:${bucketName(this.ctx, 'restic')}`], { env: peerEnv() });
    await this.restic(['init'], this.backupCache);
  }

  private async backup(dir: string): Promise<PhaseResult> {
    const r = await this.restic(['backup', '.', '--json'], this.backupCache, dir);
    const summary = parseResticSummary(r.stdout);
    return { seconds: r.seconds, bytesUploaded: summary.data_added, toolSeconds: summary.total_duration };
  }

  upload(dir: string): Promise<PhaseResult> {
    return this.backup(dir);
  }

  incremental(dir: string): Promise<PhaseResult> {
    return this.backup(dir);
  }

  async restore(target: string): Promise<RestoreResult> {
    const cache = await mkdtemp(join(this.ctx.work, 'cache-restore-'));
    const r = await this.restic(['restore', 'latest', '--target', target], cache);
    return { seconds: r.seconds, target };
  }

  async restoreWithPresent(present: string): Promise<RestoreResult> {
    const result = await this.restore(present);
    return { ...result, note: 'restic 0.14 rewrites every file' };
  }

  async destroy(): Promise<void> {
    await run('rclone', ['--config', this.ctx.rcloneConfig, 'purge', `${REMOTE}:${bucketName(this.ctx, 'restic')}`], { env: peerEnv(), cleanup: true }).catch(() => {});
  }
}
