/**
 * Rate and ETA for the status: bytes done over a sliding window of recent samples, so one stall
 * or one burst does not swing the estimate. The clock is injected. No ETA while the total is
 * still being counted (it would only grow), nor once every byte is done (a pass at its end is
 * not "0 s left").
 *
 * A pass may report once per file (100,000 times for a big first upload): the window keeps at
 * most one sample per SAMPLE_MS, so each report costs the same however often they come.
 */
import type { Progress } from '../../shared/agent-api.js';

const WINDOW_MS = 5000;
const SAMPLE_MS = WINDOW_MS / 50;

export class ProgressMeter {
  private samples: Array<{ at: number; bytes: number }> = [];

  constructor(private readonly now: () => number) {}

  /** Samples in the window (tests). */
  get samplesHeld(): number {
    return this.samples.length;
  }

  reset(): void {
    this.samples = [];
  }

  /** Records `bytes` done of `bytesTotal` and returns the progress to show. */
  update(p: { files: number; filesTotal: number; bytes: number; bytesTotal: number; counting?: boolean }): Progress {
    const at = this.now();
    const newest = this.samples.at(-1);
    if (newest === undefined || at - newest.at >= SAMPLE_MS) this.samples.push({ at, bytes: p.bytes });
    while (this.samples.length > 2 && at - this.samples[0]!.at > WINDOW_MS) this.samples.shift();
    const first = this.samples[0]!;
    const seconds = (at - first.at) / 1000;
    const rate = seconds > 0 ? Math.max(0, (p.bytes - first.bytes) / seconds) : 0;
    const out: Progress = { files: p.files, filesTotal: p.filesTotal, bytes: p.bytes, bytesTotal: p.bytesTotal, rate: Math.round(rate) };
    if (p.counting === true) out.counting = true;
    if (rate > 0 && p.counting !== true && p.bytesTotal > p.bytes) out.etaSeconds = Math.ceil((p.bytesTotal - p.bytes) / rate);
    return out;
  }
}

const PUSH_MS = 250;

/**
 * Paces the status pushes of progress reports: the first goes out at once, later ones at most
 * every PUSH_MS, and one held back goes out at the end of its interval, so the last figures are
 * shown. Each push builds and sends the agent's whole status (agent.ts): one per report would be
 * 200,000 of them for a 100,000-file upload.
 */
export class PushPacer {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private held = false;

  constructor(private readonly push: () => void) {}

  report(): void {
    if (this.timer !== undefined) {
      this.held = true;
      return;
    }
    this.push();
    this.timer = setTimeout(() => this.tick(), PUSH_MS);
    this.timer.unref?.();
  }

  /** Forgets a report held back: the caller pushes the status itself (a new step, the end of a pass). */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.held = false;
  }

  private tick(): void {
    this.timer = undefined;
    if (!this.held) return;
    this.held = false;
    this.report();
  }
}
