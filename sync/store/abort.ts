/**
 * Stopping a caller's store requests at once, without an AbortSignal threaded through every layer
 * between the caller (a sync pass, the agent opening the bucket) and the store.
 *
 * Code run by `withSignal(signal, fn)` gives its signal to every request a store starts for it:
 * S3Store hands it to the HTTP request, so an abort (a pause, a stop) ends the requests in flight
 * at once — a stalled one too, which would otherwise run to its idle timeout — and fails any
 * started later before it is sent; RetryingStore neither waits nor retries once it is aborted.
 * An aborted request fails with the signal's reason.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const scope = new AsyncLocalStorage<AbortSignal>();

export function withSignal<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  return scope.run(signal, fn);
}

/** The signal of the withSignal call the current code runs in, if any. */
export function requestSignal(): AbortSignal | undefined {
  return scope.getStore();
}
