/**
 * Ctrl-C (SIGINT) or SIGTERM during a command that writes into the user's folders: instead of the
 * process dying where it stands (temp files left in those folders), the command's signal aborts,
 * its work stops and cleans up, and it fails with E_INTERRUPTED. A second Ctrl-C ends it at once.
 */
import { StrataError } from '../errors.js';

export function cancelOnInterrupt(what: string): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const cancel = (): void => {
    dispose();
    controller.abort(new StrataError('E_INTERRUPTED', what));
  };
  const dispose = (): void => {
    process.off('SIGINT', cancel);
    process.off('SIGTERM', cancel);
  };
  process.once('SIGINT', cancel);
  process.once('SIGTERM', cancel);
  return { signal: controller.signal, dispose };
}
