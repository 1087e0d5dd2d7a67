/**
 * rclone as a peer: one S3 object per file, so its figures show what packing saves. Runs with
 * its default parallelism (4 transfers, 8 checkers). `rclone copy` into a dir that already has
 * a file of the same size and mtime skips it without reading it, which makes its "80% present"
 * restore cheap in a way that does not check content.
 */
import { writeFile } from 'node:fs/promises';
import type { S3TestEnv } from '../testing/s3.js';
import { bucketName, peerEnv, type Peer, type PeerContext, type PhaseResult, type RestoreResult } from './peer.js';
import { run } from './proc.js';

export const REMOTE = 'bench';

/** Writes an rclone config with one s3 remote named `bench` on the test server. */
export async function writeRcloneConfig(path: string, s3: S3TestEnv): Promise<void> {
  const lines = [
    `[${REMOTE}]`,
    'type = s3',
    'provider = Other',
    `endpoint = ${s3.endpoint}`,
    `access_key_id = ${s3.accessKeyId}`,
    `secret_access_key = ${s3.secretAccessKey}`,
    `region = ${s3.region}`,
    'force_path_style = true',
    '',
  ];
  await writeFile(path, lines.join('\n'), { mode: 0o600 });
}

interface RcloneStats {
  bytes?: number;
  transfers?: number;
  checks?: number;
}

/** The final stats line of `--use-json-log --stats 1h --stats-log-level NOTICE`. */
export function parseRcloneStats(stderr: string): RcloneStats {
  let stats: RcloneStats = {};
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { stats?: RcloneStats };
      if (entry.stats) stats = entry.stats;
    } catch {
      // Not a JSON log line.
    }
  }
  return stats;
}

export class RclonePeer implements Peer {
  readonly tool = 'rclone' as const;
  private readonly bucket: string;

  constructor(private readonly ctx: PeerContext) {
    this.bucket = bucketName(ctx, 'rclone');
  }

  private rclone(args: string[]): ReturnType<typeof run> {
    return run('rclone', ['--config', this.ctx.rcloneConfig, ...args], { env: peerEnv() });
  }

  private async copy(from: string, to: string): Promise<PhaseResult & { stats: RcloneStats }> {
    const r = await this.rclone(['copy', from, to, '--use-json-log', '--stats', '1h', '--stats-log-level', 'NOTICE']);
    const stats = parseRcloneStats(r.stderr);
    return { seconds: r.seconds, stats };
  }

  private get remotePath(): string {
    return `${REMOTE}:${this.bucket}/corpus`;
  }

  async version(): Promise<string> {
    return (await run('rclone', ['version'])).stdout.split('\n')[0]?.trim() ?? 'unknown';
  }

  async init(): Promise<void> {
    await this.rclone(['mkdir', `${REMOTE}:${this.bucket}`]);
  }

  async upload(dir: string): Promise<PhaseResult> {
    const r = await this.copy(dir, this.remotePath);
    return { seconds: r.seconds, bytesUploaded: r.stats.bytes, requests: { files: r.stats.transfers ?? 0 } };
  }

  async restore(target: string): Promise<RestoreResult> {
    const r = await this.copy(this.remotePath, target);
    return { seconds: r.seconds, bytesDownloaded: r.stats.bytes, target };
  }

  async restoreWithPresent(present: string): Promise<RestoreResult> {
    const r = await this.copy(this.remotePath, present);
    return { seconds: r.seconds, bytesDownloaded: r.stats.bytes, target: present, note: 'skips files with the same size+mtime, unread' };
  }

  async incremental(dir: string): Promise<PhaseResult> {
    const r = await this.copy(dir, this.remotePath);
    return { seconds: r.seconds, bytesUploaded: r.stats.bytes, note: 'whole changed files' };
  }

  async destroy(): Promise<void> {
    await run('rclone', ['--config', this.ctx.rcloneConfig, 'purge', `${REMOTE}:${this.bucket}`], { env: peerEnv(), cleanup: true }).catch(() => {});
  }
}
