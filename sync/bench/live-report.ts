/**
 * The live-sync section's table rows and notes, built from its results alone (pure), like
 * report.ts: the printed table and the JSON always agree. Targets are issue #4's.
 */
import { IDLE_SETTLE_SECONDS, type IdleRecord, type LiveResults, type SyncTiming } from './live.js';
import type { LatencyRecord } from './live-latency.js';
import { strataOnly, type Row } from './report.js';

export const LIVE_TARGETS = {
  latencySeconds: 3,
  idleRssBytes: 200e6,
  idleCpuPercent: 1,
  startupSeconds: 10,
} as const;

/** The middle value (the mean of the two middle ones for an even count); undefined when empty. */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

const count = (n: number): string => n.toLocaleString('en-US');
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
const size = (bytes: number): string => (bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(0)} MiB` : `${count(bytes)} B`);

function latencyRow(label: string, r: LatencyRecord | undefined, error: string | undefined): Row {
  const target = `≤ ${LIVE_TARGETS.latencySeconds} s, every save`;
  if (r === undefined) return strataOnly(label, error === undefined ? 'not run' : 'failed', target, false);
  const med = median(r.seconds);
  const max = r.seconds.length > 0 ? Math.max(...r.seconds) : undefined;
  const lost = r.failures.length > 0 ? `, ${r.failures.length} did not arrive` : '';
  const value = med === undefined || max === undefined ? `none arrived${lost}` : `median ${med.toFixed(2)} s, max ${max.toFixed(2)} s (${r.seconds.length} saves${lost})`;
  return strataOnly(`${label} (${size(r.bytes)})`, value, target, r.failures.length === 0 && max !== undefined && max <= LIVE_TARGETS.latencySeconds);
}

function idleRows(label: string, r: IdleRecord | undefined, error: string | undefined, judged: boolean): Row[] {
  const rssTarget = judged ? `≤ ${mb(LIVE_TARGETS.idleRssBytes)}` : undefined;
  const cpuTarget = judged ? `≤ ${LIVE_TARGETS.idleCpuPercent}% of a core` : undefined;
  if (r === undefined) {
    const value = error === undefined ? 'not run' : 'failed';
    return [strataOnly(`${label}: RSS`, value, rssTarget, judged ? false : undefined), strataOnly(`${label}: CPU`, value, cpuTarget, judged ? false : undefined)];
  }
  const hwm = r.memory.VmHWM === undefined ? '' : `; peak so far ${mb(r.memory.VmHWM)}`;
  return [
    strataOnly(`${label}: RSS`, `max ${mb(r.rssBytes.max)}, mean ${mb(r.rssBytes.mean)}${hwm}`, rssTarget, judged ? r.rssBytes.max <= LIVE_TARGETS.idleRssBytes : undefined),
    strataOnly(`${label}: CPU`, `${r.cpuPercent.toFixed(2)}% (${r.cpuSeconds.toFixed(2)} s in ${r.seconds.toFixed(0)} s)`, cpuTarget, judged ? r.cpuPercent <= LIVE_TARGETS.idleCpuPercent : undefined),
  ];
}

function timing(t: SyncTiming | undefined, error: string | undefined): string {
  if (t === undefined) return error === undefined ? 'not run' : 'failed';
  return `${t.seconds.toFixed(2)} s (load ${t.load.map((l) => l.toFixed(1)).join(' → ')})`;
}

export function liveRows(r: LiveResults): Row[] {
  const tree = `${count(r.files)} files`;
  const e = r.errors;
  const watches = r.idle?.inotifyWatches ?? r.idleAfterUpload?.inotifyWatches;
  const limit = r.inotify.maxUserWatches === undefined ? 'no limit file' : `max_user_watches ${count(r.inotify.maxUserWatches)}`;
  const startupTarget = `≤ ${LIVE_TARGETS.startupSeconds} s`;
  return [
    latencyRow('save on A → complete on B', r.latency?.small, e.latency),
    latencyRow('save on A → complete on B', r.latency?.large, e.latency),
    strataOnly(`first sync of ${tree} (initial upload)`, timing(r.initialSync, e.initialSync)),
    ...idleRows(`  idle right after it`, r.idleAfterUpload, e.idleAfterUpload, false),
    strataOnly(`start-up, ${tree} unchanged, until in sync`, timing(r.startup, e.startup ?? e.initialSync), startupTarget, r.startup !== undefined && r.startup.seconds <= LIVE_TARGETS.startupSeconds),
    ...idleRows(`idle agent watching ${tree}`, r.idle, e.idle ?? e.startup ?? e.initialSync, true),
    strataOnly('  inotify watches it holds', `${watches === undefined ? '?' : count(watches)} (${limit})`, `≤ limit`, r.inotify.enough && (watches === undefined || r.inotify.maxUserWatches === undefined || watches <= r.inotify.maxUserWatches)),
  ];
}

export function liveNotes(r: LiveResults): string {
  const failed = Object.entries(r.errors).map(([phase, why]) => `  ${phase}: ${why}`);
  return [
    'Live sync (Strata alone, `strata sync --json` from dist/, each device its own folder and --state-dir, one bucket):',
    `- save → complete: from the start of the write on A until B's file has the new bytes (SHA-256), polled every 10 ms;`,
    '  A and B run with --poll 1; the time includes A\'s watcher debounce (300 ms) and stability check (500 ms).',
    `- idle and start-up: one agent on ${count(r.files)} small files in ${count(r.dirs)} dirs (${(r.bytes / 1e6).toFixed(1)} MB), default poll (10 s);`,
    '  RSS is VmRSS and CPU utime+stime of the agent\'s node process (chunker worker threads included),',
    '  sampled every second; "peak so far" is VmHWM. Start-up is spawn → first in-sync line after a SIGTERM stop;',
    '  "load" is the 1-minute load average at spawn and at that line: above the CPU count, other work slowed it.',
    `- the judged idle window starts ${IDLE_SETTLE_SECONDS} s after start-up's in-sync line (the heap is handed back first, live.ts);`,
    '  the window right after the first sync starts at once.',
    ...(failed.length > 0 ? ['- not measured:', ...failed] : []),
  ].join('\n');
}
