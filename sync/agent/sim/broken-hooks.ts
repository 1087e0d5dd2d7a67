/**
 * Module hooks for `worker.ts --broken-merge`: every import of the planner's merge.ts, except the
 * one inside broken-merge.ts itself, gets broken-merge.ts instead. The agent's files stay as they
 * are; only this child process sees the broken merge.
 */
import type { ResolveHook } from 'node:module';

const BROKEN = new URL('./broken-merge.ts', import.meta.url).href;

export const resolve: ResolveHook = async (specifier, context, next) => {
  const r = await next(specifier, context);
  // Resolved through the next hooks (tsx) so that it loads as TypeScript.
  if (r.url.endsWith('/sync/plan/merge.ts') && context.parentURL !== BROKEN) return next(BROKEN, context);
  return r;
};
