/**
 * Laying the session's layer onto home from the CLI, as `strata login` does it and `strata agent`
 * when the last sign-in's lay was cut off: layHome with the command's chunker pool, a progress bar
 * at a terminal, the layers, `ready` and warning lines on stderr (text mode), and the JSON summary of the
 * finished lay. One module so that both commands report a lay the same way.
 */
import { formatBytes } from '../format.js';
import { describeError } from '../../errors.js';
import { layHome, type LayResult, type Session, type SettingsEvent, type SignInEvent } from '../../signin/index.js';
import type { ObjectStore } from '../../store/index.js';
import { openChunkPool, poolChunkFilesFn, poolChunkFn } from '../chunker.js';
import type { Context } from '../context.js';
import { plural } from '../../../shared/status-text.js';

export interface LayRun {
  /** The org's bucket, opened with the user's credentials. */
  store: ObjectStore;
  session: Session;
  stateDir: string;
  seeds?: string[];
  /** Stops the lay (layHome's signal). */
  signal?: AbortSignal;
}

/** "layers: org/base, user/alice; 1 file, 3 B": what a lay lays. */
export function layersLine(e: Extract<SignInEvent, { type: 'layers' }>): string {
  const layers = [...e.org.map((l) => l.layer), ...(e.user ? [e.user.layer] : [])];
  return `layers: ${layers.length > 0 ? layers.join(', ') : '(none yet)'}; ${plural(e.files, 'file')}, ${formatBytes(e.bytes)}`;
}

/** The settings mirror's news (signin/settings.ts), for a lay and for live sync alike: problems are warnings. */
export function reportSettings(ctx: Context, e: SettingsEvent): void {
  // The mirror's message says what became of the key ("not synced: …", "dconf refused the layer's value …").
  if (e.type === 'settings-problem') ctx.warn(`setting ${e.problem.key}: ${e.problem.message}`);
  else if (e.type === 'settings-failed') ctx.warn(`settings are not synced (${describeError(e.error).split('\n')[0]}); files sync on`);
  else if (ctx.json) ctx.io.stdout(`${JSON.stringify({ event: 'settings', applied: e.result.applied, changed: e.result.changed, conflicts: e.result.conflicts })}\n`);
  else {
    const { applied, changed, conflicts } = e.result;
    const parts = [applied.length > 0 && `${plural(applied.length, 'key')} applied here`, changed.length > 0 && `${plural(changed.length, 'key')} changed here`, conflicts.length > 0 && plural(conflicts.length, 'conflict copy', 'conflict copies')];
    ctx.io.stderr.write(`settings: ${parts.filter(Boolean).join(', ')}\n`);
  }
}

function describe(ctx: Context, e: SignInEvent): void {
  if (e.type === 'settings-synced' || e.type === 'settings-problem' || e.type === 'settings-failed') return reportSettings(ctx, e);
  if (ctx.json) return;
  if (e.type === 'layers') {
    ctx.io.stderr.write(`${layersLine(e)}\n`);
    for (const l of e.unpublished) ctx.warn(`${l} is assigned but has never been published; it is left out`);
  } else if (e.type === 'ready') {
    ctx.io.stderr.write(`ready in ${(e.timeToReadyMs / 1000).toFixed(2)} s (hot paths and small files: downloaded ${formatBytes(e.bytesDownloaded)}, seeded ${formatBytes(e.bytesSeeded)}, reused ${formatBytes(e.bytesReused)})\n`);
  }
}

/** layHome with the CLI's output; the result's session has `laid`. */
export async function layWithOutput(ctx: Context, run: LayRun): Promise<LayResult> {
  const bar = ctx.progress('sign-in');
  const pool = openChunkPool(ctx);
  const result = await layHome({
    store: run.store,
    session: run.session,
    stateDir: run.stateDir,
    seeds: run.seeds,
    ...(run.signal ? { signal: run.signal } : {}),
    chunkFile: poolChunkFn(pool),
    chunkFiles: poolChunkFilesFn(pool),
    onEvent: (e) => {
      if (e.type === 'progress') bar?.update({ phase: e.phase, files: e.filesDone, totalFiles: e.files, bytes: e.bytesDone, totalBytes: e.bytes });
      else {
        // A line written after the drawn progress line would trail it; the next update redraws it.
        bar?.done();
        describe(ctx, e);
      }
    },
  });
  bar?.done();
  if (!ctx.json) for (const w of result.warnings) ctx.warn(w);
  return result;
}

/** The finished lay as the JSON object --json prints. */
export function laySummary(r: LayResult): Record<string, unknown> {
  return {
    org: r.session.org.org,
    user: r.session.user,
    home: r.session.home,
    mode: r.session.mode,
    device: r.session.device,
    layers: [...(r.session.laid?.org ?? []), ...(r.session.laid?.user ? [r.session.laid.user] : [])],
    unpublished: r.unpublished,
    files: r.files,
    bytes: r.bytes,
    bytesDownloaded: r.bytesDownloaded,
    bytesSeeded: r.bytesSeeded,
    bytesReused: r.bytesReused,
    timeToReadyMs: Math.round(r.timeToReadyMs),
    totalMs: Math.round(r.totalMs),
    conflicts: r.conflicts,
    removed: r.removed,
    warnings: r.warnings,
    tooLong: r.tooLong,
  };
}
