/**
 * The live-sync section of `npm run bench` (issue #4's figures), Strata alone, on its own bucket
 * of the bench's S3 server, through the built CLI (`node dist/bundle/strata.js sync … --json`):
 *
 *   1. propagation latency: devices A and B (own folders and --state-dir, one layer, --poll 1),
 *      a save on A until the bytes are complete on B (live-latency.ts);
 *   2. a third device with `--sync-files` small files (default 100,000 in 1,000 dirs) on a layer
 *      of its own, default poll: the first sync (initial upload, for information), then RSS and
 *      CPU over an idle window;
 *   3. SIGTERM, start again over the unchanged folder: time until the first in-sync line, then a
 *      second idle window.
 *
 * Must hold: every agent started here is stopped before the section returns (and killed by the
 * bench's cleanup on any error or Ctrl-C, live-agent.ts); a figure that could not be measured is
 * recorded with the reason, never as a number. Too low an inotify limit is reported as such
 * before the big folder is written, since the watcher would otherwise fail deep inside the agent.
 */
import { mkdir, rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { describeError, isStrataError } from '../errors.js';
import { makeRng } from '../testing/random.js';
import { LiveAgent, type AgentSpec } from './live-agent.js';
import { measureLatency, type LatencyResults } from './live-latency.js';
import { clockTicks, inotifyWatches, maxUserWatches, memoryDetail, sampleProc, summarizeIdle, type IdleFigures, type ProcSample } from './live-proc.js';
import { dirCount, planLiveTree, watchesNeeded, writeLiveTree } from './live-tree.js';
import { bucketName, peerEnv, type PeerContext } from './peer.js';
import { run } from './proc.js';

export const LATENCY_TRIALS = 10;
export const LATENCY_POLL_SECONDS = 1;
export const IDLE_WINDOW_SECONDS = 20;
/**
 * Quiet time after start-up before the judged idle window: the agent runs V8 with
 * --optimize-for-size (sync/cli/memory.ts), whose memory reducer spends a few tenths of a second in
 * garbage collection right after a busy pass, handing the heap back. Measured here: 0.6 s of CPU
 * in the first 20 s after the in-sync line, 0.07 s in the next 20 s.
 */
export const IDLE_SETTLE_SECONDS = 20;

export interface IdleRecord extends IdleFigures {
  /** /proc/<pid>/status memory lines at the end of the window (VmHWM is the peak so far). */
  memory: Record<string, number>;
  inotifyWatches: number;
}

export type LivePhase = 'latency' | 'initialSync' | 'idleAfterUpload' | 'startup' | 'idle';

/** Spawn of an agent until its first in-sync line. */
export interface SyncTiming {
  seconds: number;
  /** The files that in-sync line counted. */
  files: number;
  /** The 1-minute load average at spawn and at the in-sync line: the machine may be shared. */
  load: [number, number];
}

export interface LiveResults {
  files: number;
  dirs: number;
  bytes: number;
  trials: number;
  inotify: { maxUserWatches: number | undefined; needed: number; enough: boolean };
  latency?: LatencyResults;
  initialSync?: SyncTiming;
  idleAfterUpload?: IdleRecord;
  startup?: SyncTiming;
  idle?: IdleRecord;
  errors: Partial<Record<LivePhase, string>>;
}

export interface LiveInput {
  ctx: PeerContext;
  files: number;
  seed: number;
  keep: boolean;
  ownedServer: boolean;
  log: (line: string) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function idleWindow(agent: LiveAgent, seconds: number, ticks: number): Promise<IdleRecord> {
  const samples: ProcSample[] = [await sampleProc(agent.pid)];
  for (let i = 0; i < seconds; i++) {
    await sleep(1000);
    samples.push(await sampleProc(agent.pid));
  }
  return { ...summarizeIdle(samples, ticks), memory: await memoryDetail(agent.pid), inotifyWatches: await inotifyWatches(agent.pid) };
}

/** Waits for the agent's first in-sync line. `loadAtSpawn` is loadavg()[0] read when it was started. */
async function timeToSync(agent: LiveAgent, loadAtSpawn: number, timeoutSeconds: number): Promise<SyncTiming> {
  const e = await agent.inSyncAfter(0, timeoutSeconds);
  return { seconds: (e.at - agent.spawnedAt) / 1000, files: e.files, load: [loadAtSpawn, loadavg()[0] as number] };
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
const idleLine = (r: IdleRecord): string => `RSS max ${mb(r.rssBytes.max)}, CPU ${r.cpuPercent.toFixed(2)}% over ${r.seconds.toFixed(0)} s, ${r.inotifyWatches} inotify watches`;

export async function runLiveSync(input: LiveInput): Promise<LiveResults> {
  const { ctx, log } = input;
  const work = join(ctx.work, 'live');
  const bucket = `${bucketName(ctx, 'strata')}-live`;
  const q = new URLSearchParams({ endpoint: ctx.s3.endpoint, region: ctx.s3.region, pathStyle: 'true' });
  const store = `s3://${bucket}/repo?${q.toString()}`;
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: ctx.s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: ctx.s3.secretAccessKey,
    AWS_REGION: ctx.s3.region,
    HOME: work,
    XDG_CONFIG_HOME: join(work, 'config'),
    XDG_CACHE_HOME: join(work, 'cache'),
    XDG_STATE_HOME: join(work, 'state'),
  };
  const plan = planLiveTree(input.files, input.seed);
  const needed = watchesNeeded(plan);
  const limit = await maxUserWatches();
  const results: LiveResults = {
    files: plan.files.length,
    dirs: dirCount(plan) - 1,
    bytes: 0,
    trials: LATENCY_TRIALS,
    inotify: { maxUserWatches: limit, needed, enough: limit === undefined || limit >= needed },
    errors: {},
  };
  const spec = (name: string, layer: string, pollSeconds?: number): AgentSpec => ({ cli: ctx.strataCli, dir: join(work, name), stateDir: join(work, `${name}-state`), layer, store, device: `live-${name}`, pollSeconds, env });
  const attempt = async (phase: LivePhase, body: () => Promise<void>): Promise<boolean> => {
    try {
      await body();
      return true;
    } catch (err) {
      if (isStrataError(err, 'E_BENCH_ABORTED')) throw err;
      results.errors[phase] = describeError(err);
      log(`  ${phase} FAILED: ${describeError(err)}`);
      return false;
    }
  };
  const agents: LiveAgent[] = [];
  const start = async (s: AgentSpec): Promise<LiveAgent> => {
    await mkdir(s.dir, { recursive: true });
    const a = new LiveAgent(s);
    agents.push(a);
    return a;
  };
  try {
    await mkdir(work, { recursive: true });
    await run(process.execPath, [ctx.strataCli, 'init', '--store', store, '--json'], { env });

    log(`live sync 1/3: propagation latency A → B, ${LATENCY_TRIALS} saves each of a small and a 4 MiB file (--poll ${LATENCY_POLL_SECONDS})`);
    await attempt('latency', async () => {
      const a = await start(spec('a', 'user/bench-live', LATENCY_POLL_SECONDS));
      const b = await start(spec('b', 'user/bench-live', LATENCY_POLL_SECONDS));
      try {
        await a.inSyncAfter(0, 120);
        await b.inSyncAfter(0, 120);
        results.latency = await measureLatency(a.spec.dir, b.spec.dir, LATENCY_TRIALS, input.seed, makeRng(input.seed ^ 0x1a7), log);
      } finally {
        // Not running during the idle windows, whatever happened here.
        await Promise.all([a.stop(), b.stop()]);
      }
    });

    const tree = `${plan.files.length} files in ${results.dirs} dirs`;
    if (!results.inotify.enough) {
      const why = `fs.inotify.max_user_watches is ${limit}, below the ${needed} watches an agent on ${tree} needs (one per file and dir); raise it with  sysctl fs.inotify.max_user_watches=${Math.max(needed * 2, 524288)}`;
      results.errors.initialSync = why;
      log(`live sync 2/3 and 3/3 SKIPPED: ${why}`);
      return results;
    }
    log(`live sync 2/3: writing ${tree}, then the first sync and ${IDLE_WINDOW_SECONDS} s idle`);
    const c = spec('c', 'user/bench-live-files');
    results.bytes = await writeLiveTree(c.dir, plan, input.seed);
    const ticks = await clockTicks();
    let load = loadavg()[0] as number;
    const first = await start(c);
    if (!(await attempt('initialSync', async () => {
      results.initialSync = await timeToSync(first, load, 3600);
      log(`  first sync (initial upload): ${results.initialSync.seconds.toFixed(2)} s, ${results.initialSync.files} files`);
    }))) return results;
    await attempt('idleAfterUpload', async () => {
      results.idleAfterUpload = await idleWindow(first, IDLE_WINDOW_SECONDS, ticks);
      log(`  idle after the first sync: ${idleLine(results.idleAfterUpload)}`);
    });
    log(`  agent stopped (SIGTERM): ${await first.stop()}`);

    log(`live sync 3/3: start-up over the ${plan.files.length} unchanged files, then ${IDLE_WINDOW_SECONDS} s idle after ${IDLE_SETTLE_SECONDS} s quiet`);
    load = loadavg()[0] as number;
    const again = await start(c);
    if (!(await attempt('startup', async () => {
      results.startup = await timeToSync(again, load, 600);
      log(`  start-up until in sync: ${results.startup.seconds.toFixed(2)} s, ${results.startup.files} files (load average ${results.startup.load.map((l) => l.toFixed(1)).join(' → ')})`);
    }))) return results;
    await attempt('idle', async () => {
      await sleep(IDLE_SETTLE_SECONDS * 1000);
      results.idle = await idleWindow(again, IDLE_WINDOW_SECONDS, ticks);
      log(`  idle: ${idleLine(results.idle)}`);
    });
    return results;
  } finally {
    for (const a of agents) await a.stop(10);
    if (!input.keep) await rm(work, { recursive: true, force: true });
    if (!input.ownedServer) await run('rclone', ['--config', ctx.rcloneConfig, 'purge', `bench:${bucket}`], { env: peerEnv(), cleanup: true }).catch(() => {});
  }
}
