/**
 * What the live-sync bench reads from Linux's /proc about a running agent: resident memory
 * (VmRSS), CPU time (utime + stime), and how many inotify watches it holds; and the per-user
 * inotify limit. The parsers are pure (text in, numbers out) so they are tested on fixed text.
 *
 * Must hold: the pid sampled is the node process that runs the agent itself (the bench starts
 * `node dist/bundle/strata.js`, which does not spawn a child), so RSS and CPU are the agent's.
 * CPU time in /proc/<pid>/stat is the sum over all the process's threads (chunker workers too).
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import { run } from './proc.js';

/** VmRSS (or any `Key:  <n> kB` line) of /proc/<pid>/status, in bytes; undefined when absent. */
export function parseStatusKb(text: string, key: string): number | undefined {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

/**
 * utime + stime of /proc/<pid>/stat, in clock ticks. The command name (field 2) is in
 * parentheses and may itself hold spaces and parentheses, so fields are counted after the last ')'.
 */
export function parseCpuTicks(text: string): number {
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).trim().split(/\s+/);
  // Fields 14 and 15 of the line; field 3 (state) is the first one after ')'.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (close < 0 || !Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`not a /proc/<pid>/stat line: ${text.slice(0, 120)}`);
  return utime + stime;
}

/** The number of `inotify wd:` lines of an inotify fd's /proc/<pid>/fdinfo/<fd>. */
export function countInotifyWatches(fdinfo: string): number {
  return fdinfo.split('\n').filter((line) => line.startsWith('inotify wd:')).length;
}

export interface ProcSample {
  /** performance.now() when read, in ms. */
  at: number;
  rssBytes: number;
  cpuTicks: number;
}

export async function sampleProc(pid: number): Promise<ProcSample> {
  const [status, stat] = await Promise.all([readFile(`/proc/${pid}/status`, 'utf8'), readFile(`/proc/${pid}/stat`, 'utf8')]);
  const rssBytes = parseStatusKb(status, 'VmRSS');
  if (rssBytes === undefined) throw new Error(`/proc/${pid}/status has no VmRSS (has the process exited?)`);
  return { at: performance.now(), rssBytes, cpuTicks: parseCpuTicks(stat) };
}

/** Memory lines of /proc/<pid>/status worth reporting next to RSS, in bytes. */
export async function memoryDetail(pid: number): Promise<Record<string, number>> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const out: Record<string, number> = {};
  for (const key of ['VmHWM', 'VmRSS', 'RssAnon', 'RssFile', 'VmSwap']) {
    const v = parseStatusKb(status, key);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/** Inotify watches the process holds now, over all its inotify fds. */
export async function inotifyWatches(pid: number): Promise<number> {
  let total = 0;
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    if (target === 'anon_inode:inotify') total += countInotifyWatches(await readFile(`/proc/${pid}/fdinfo/${fd}`, 'utf8').catch(() => ''));
  }
  return total;
}

/** Clock ticks per second (USER_HZ): `getconf CLK_TCK`, which is 100 on every common Linux. */
export async function clockTicks(): Promise<number> {
  const out = await run('getconf', ['CLK_TCK']).then((r) => Number(r.stdout.trim()), () => NaN);
  return Number.isFinite(out) && out > 0 ? out : 100;
}

/** fs.inotify.max_user_watches, or undefined where there is no such file (not Linux). */
export async function maxUserWatches(): Promise<number | undefined> {
  const text = await readFile('/proc/sys/fs/inotify/max_user_watches', 'utf8').catch(() => undefined);
  const n = Number(text?.trim());
  return text !== undefined && Number.isFinite(n) ? n : undefined;
}

export interface IdleFigures {
  /** Wall-clock seconds between the first and the last sample. */
  seconds: number;
  samples: number;
  rssBytes: { mean: number; max: number; last: number };
  /** CPU seconds used over the window (all threads). */
  cpuSeconds: number;
  /** cpuSeconds ÷ seconds, as a percentage of one core. */
  cpuPercent: number;
}

/** RSS and CPU figures of samples taken over an idle window (at least two, in time order). */
export function summarizeIdle(samples: readonly ProcSample[], ticksPerSecond: number): IdleFigures {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (first === undefined || last === undefined || samples.length < 2) throw new RangeError('an idle window needs at least two samples');
  const rss = samples.map((s) => s.rssBytes);
  const seconds = (last.at - first.at) / 1000;
  const cpuSeconds = (last.cpuTicks - first.cpuTicks) / ticksPerSecond;
  return {
    seconds,
    samples: samples.length,
    rssBytes: { mean: rss.reduce((a, b) => a + b, 0) / rss.length, max: Math.max(...rss), last: last.rssBytes },
    cpuSeconds,
    cpuPercent: seconds > 0 ? (cpuSeconds / seconds) * 100 : 0,
  };
}
