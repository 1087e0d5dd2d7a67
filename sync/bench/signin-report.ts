/**
 * The sign-in benchmark's table: one column per machine (empty, golden image), Strata's time to
 * ready and total with their ratios to restic's and rclone's full restores (the target: ready
 * < 25% of restic's, ✓/✗), the bytes downloaded against seeded and reused, and where Strata's
 * time went. Built from the results alone (pure), so the JSON and the table say the same thing.
 */
import type { Breakdown, CaseName, CaseRecord, PeerRecord, SignInResults } from './signin-results.js';

const MiB = 1024 * 1024;
/** Strata's time to ready must be below this fraction of restic's full restore. */
export const READY_VS_RESTIC_TARGET = 0.25;

export interface SignInRow {
  label: string;
  empty: string;
  golden: string;
  target?: string;
}

const CASES: CaseName[] = ['empty', 'golden'];
const secs = (s: number | undefined): string => (s === undefined ? '' : `${s.toFixed(2)} s`);
const mib = (b: number | undefined): string => (b === undefined ? '' : `${(b / MiB).toFixed(1)} MiB`);
const wrong = (r: { problems?: string[] } | undefined): boolean => (r?.problems?.length ?? 0) > 0;

/** A peer's full-restore seconds when it is a figure to compare with (ran, and restored right). */
function baseline(p: PeerRecord | undefined): number | undefined {
  return p && p.error === undefined && !wrong(p) ? p.seconds : undefined;
}

function floorCell(f: SignInResults['floor']): string {
  if (!f) return 'not run';
  return f.error !== undefined ? 'failed' : secs(f.seconds);
}

function peerCell(p: PeerRecord | undefined): string {
  if (!p) return 'not run';
  if (p.error !== undefined) return 'failed';
  return `${secs(p.seconds)}${wrong(p) ? ' WRONG' : ''}`;
}

/** Strata's figure for a case: '' when absent, `failed`, or marked WRONG. */
function cell(r: CaseRecord | undefined, fmt: (r: CaseRecord) => string): string {
  if (!r) return '';
  if (r.error !== undefined) return 'failed';
  return fmt(r);
}

function row(results: SignInResults, label: string, fmt: (r: CaseRecord) => string, target?: string): SignInRow {
  const [empty, golden] = CASES.map((c) => cell(results.cases[c], fmt)) as [string, string];
  return { label, empty, golden, ...(target ? { target } : {}) };
}

/** `a ÷ b` as a ratio, with ✓/✗ against `limit` when one is given; '' when either is missing. */
export function ratioText(a: number | undefined, b: number | undefined, limit?: number): string {
  if (a === undefined || b === undefined || b <= 0) return '';
  const r = a / b;
  return `${r.toFixed(2)}×${limit === undefined ? '' : r < limit ? ' ✓' : ' ✗'}`;
}

const usable = (r: CaseRecord): number | undefined => (wrong(r) ? undefined : r.readySeconds);
const usableTotal = (r: CaseRecord): number | undefined => (wrong(r) ? undefined : r.seconds);

const BREAKDOWN: [keyof Breakdown, string][] = [
  ['startup', '    node start, modules'],
  ['open', '    org config, signed read, session'],
  ['layers', '    profile, index, trees, effective tree'],
  ['readyPrep', '    first contact, trees, plan, seed scan'],
  ['readyFill', '    ready files: copies, downloads, writes'],
  ['restPrep', '    rest: plan, seed scan'],
  ['restFill', '    rest: copies, downloads, writes'],
  ['exit', '    exit'],
];

export function signInRows(results: SignInResults): SignInRow[] {
  const restic = baseline(results.restic);
  const rclone = baseline(results.rclone);
  const baselineRow = (label: string, value: string): SignInRow => ({ label, empty: value, golden: '' });
  const split = (pick: (r: CaseRecord) => CaseRecord['ready']): ((r: CaseRecord) => string) => (r) => {
    const t = pick(r);
    return t ? `${mib(t.bytesDownloaded)} / ${mib(t.bytesSeeded)} / ${mib(t.bytesReused)}` : '';
  };
  return [
    baselineRow('restic restore, full, empty dir (baseline)', peerCell(results.restic)),
    baselineRow('rclone copy, full, empty dir (baseline)', peerCell(results.rclone)),
    baselineRow('ready set written from memory (file-system floor)', floorCell(results.floor)),
    baselineRow('  floor ÷ restic full restore', ratioText(results.floor?.seconds, restic)),
    row(results, 'home before sign-in', (r) => (r.present.files === 0 ? 'empty' : `${r.present.files} files, ${mib(r.present.bytes)}`)),
    row(results, 'Strata time to ready (hot + small)', (r) => `${secs(r.readySeconds)}${wrong(r) ? ' WRONG' : ''}`),
    row(results, '  ÷ restic full restore', (r) => ratioText(usable(r), restic, READY_VS_RESTIC_TARGET), `< ${READY_VS_RESTIC_TARGET * 100}%`),
    row(results, '  ÷ rclone full copy', (r) => ratioText(usable(r), rclone)),
    row(results, 'Strata total, all files', (r) => `${secs(r.seconds)}${wrong(r) ? ' WRONG' : ''}`),
    row(results, '  ÷ restic full restore', (r) => ratioText(usableTotal(r), restic)),
    row(results, '  ÷ rclone full copy', (r) => ratioText(usableTotal(r), rclone)),
    row(results, 'at ready: downloaded / seeded / reused', split((r) => r.ready)),
    row(results, 'in all: downloaded / seeded / reused', split((r) => r.done)),
    row(results, 'fetched from the store, GETs', (r) => (r.store ? `${mib(r.store.fetched)}, ${r.store.gets} GETs` : '')),
    row(results, 'local files chunked: at ready / in all', (r) => (r.chunked ? `${r.chunked.ready.files}, ${mib(r.chunked.ready.bytes)} / ${r.chunked.done.files}, ${mib(r.chunked.done.bytes)}` : '')),
    row(results, 'Strata result matches the layer', (r) => (wrong(r) ? `WRONG: ${r.problems?.[0]}` : r.problems ? '✓' : ''), 'exact'),
    row(results, 'where Strata\'s time went', () => ''),
    ...BREAKDOWN.map(([key, label]) => row(results, label, (r) => secs(r.breakdown?.[key]))),
  ];
}

/** The heading lines and the table. */
export function formatSignInTable(results: SignInResults): string {
  const c = results.corpus;
  const roles = Object.entries(c.roles).map(([role, r]) => `${r.files} ${role}s ${mib(r.bytes)}`).join(', ');
  const head = [
    `sign-in: ${c.files} files, ${mib(c.bytes)} (${roles}); page cache ${results.cache}`,
    `ready = hot paths (${c.hotPaths.join(', ')}) + files ≤ ${mib(c.smallFileBytes)}: ${c.readySet.files} files, ${mib(c.readySet.bytes)}`,
  ];
  if (results.strata.error !== undefined) head.push(`Strata upload failed: ${results.strata.error}`);
  const rows = signInRows(results);
  const cells = [['figure', 'empty machine', 'golden image (80%)', 'target'], ...rows.map((r) => [r.label, r.empty, r.golden, r.target ?? ''])];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...cells.map((line) => [...(line[i] as string)].length)));
  const pad = (s: string, w: number): string => s + ' '.repeat(w - [...s].length);
  const lines = cells.map((line) => line.map((s, i) => pad(s, widths[i] as number)).join('  ').trimEnd());
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return [...head, '', ...lines].join('\n');
}
