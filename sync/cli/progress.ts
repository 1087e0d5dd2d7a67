/**
 * The progress line of long commands: files, bytes, rate and time left, drawn on stderr only when
 * stderr is a terminal (never into a pipe or a log), redrawn at most every `intervalMs`, and
 * erased when the command ends so the final report starts on a clean line.
 *
 * `renderProgress` is pure (state and elapsed time in, one line out); the clock is injected.
 */
import { formatBytes, timeLeft } from '../../shared/status-text.js';

export interface ProgressState {
  /** What is happening now ("scanning", "uploading", …); optional. */
  phase?: string;
  files: number;
  /** Omitted for work that is not measured in bytes (then the bar and the time left follow `files`). */
  bytes?: number;
  /** Totals, when known, give a bar and a time left. */
  totalFiles?: number;
  totalBytes?: number;
  /** What `files` counts (default "files"). */
  unit?: string;
}

export interface ProgressSink {
  write(text: string): unknown;
  columns?: number;
}

const BAR_WIDTH = 20;

function bar(fraction: number): string {
  const filled = Math.max(0, Math.min(BAR_WIDTH, Math.round(fraction * BAR_WIDTH)));
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`;
}

/** One progress line, cut to `width` characters. */
export function renderProgress(label: string, s: ProgressState, elapsedSeconds: number, width = 80): string {
  const byBytes = s.bytes !== undefined;
  const done = s.bytes ?? s.files;
  const total = byBytes ? s.totalBytes : s.totalFiles;
  const rate = elapsedSeconds > 0 ? done / elapsedSeconds : 0;
  const parts = [s.phase ? `${label} (${s.phase})` : label];
  const barAt = parts.length;
  if (total !== undefined && total > 0) parts.push(bar(done / total), `${Math.min(100, Math.floor((100 * done) / total))}%`);
  const unit = s.unit ?? 'files';
  parts.push(s.totalFiles !== undefined ? `${s.files}/${s.totalFiles} ${unit}` : `${s.files} ${unit}`);
  if (s.bytes !== undefined) {
    parts.push(s.totalBytes !== undefined ? `${formatBytes(s.bytes)}/${formatBytes(s.totalBytes)}` : formatBytes(s.bytes));
    parts.push(`${formatBytes(rate)}/s`);
  }
  // As the agent's status says it (shared/status-text.ts): none once all is done.
  const left = total !== undefined && rate > 0 ? timeLeft((total - done) / rate) : undefined;
  if (left !== undefined) parts.push(left);
  // On a narrow terminal the bar goes first: the numbers say more.
  if (parts.join('  ').length > width - 1 && total !== undefined && total > 0) parts.splice(barAt, 1);
  const line = parts.join('  ');
  return line.length > width - 1 ? line.slice(0, Math.max(0, width - 1)) : line;
}

export class ProgressBar {
  private readonly started: number;
  private lastDraw = -Infinity;
  private drawn = false;
  private latest: ProgressState | undefined;

  constructor(
    private readonly sink: ProgressSink,
    private readonly label: string,
    private readonly now: () => number = () => performance.now(),
    private readonly intervalMs = 100,
  ) {
    this.started = now();
  }

  update(state: ProgressState): void {
    this.latest = state;
    const t = this.now();
    if (t - this.lastDraw < this.intervalMs) return;
    this.lastDraw = t;
    this.draw(t);
  }

  /** Erases the line; safe to call more than once. */
  done(): void {
    if (this.drawn) this.sink.write('\r\x1b[2K');
    this.drawn = false;
  }

  private draw(t: number): void {
    if (!this.latest) return;
    const line = renderProgress(this.label, this.latest, (t - this.started) / 1000, this.sink.columns || 80);
    this.sink.write(`\r\x1b[2K${line}`);
    this.drawn = true;
  }
}
