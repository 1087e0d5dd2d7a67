/**
 * How S3Store turns SDK and network failures into the store's error codes (index.ts).
 *
 * - Every failure must name the key and say where it happened (op and store location), so one
 *   line tells the user what went wrong.
 * - Codes decide what RetryingStore does: E_AUTH must never be retried, E_TRANSIENT (5xx, 408, 429,
 *   throttling, dropped connections) may be, anything unrecognised is E_PERMANENT. 501 Not
 *   Implemented and 505 are the 5xx answers no retry can change (Swift answers 501 to a
 *   conditional PUT): E_PERMANENT, at once.
 */
import { StrataError, type ErrorCode } from '../errors.js';

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const AUTH = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'InvalidToken', 'ExpiredToken', 'RequestTimeTooSkewed']);
const THROTTLED = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestThrottled', 'RequestLimitExceeded', 'TooManyRequests']);
const TRANSIENT = new Set(['InternalError', 'ServiceUnavailable', 'RequestTimeout', 'TimeoutError', ...THROTTLED]);
const NETWORK = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN',
  'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

export interface Where {
  key: string;
  op: string;
  location: string;
  bucket: string;
}

/** The error's name, or its HTTP status when the SDK has no name for it: the answer to a HEAD has no body ("Unknown"). */
function named(name: string, status: number | undefined): string {
  return status !== undefined && (name === 'Unknown' || name === 'Error' || /^\d+$/.test(name)) ? `HTTP ${status}` : name;
}

/** Map an SDK or network failure to the store's error codes (index.ts), naming the key. */
export function errorFor(err: unknown, where: Where): StrataError {
  if (err instanceof StrataError) return err;
  const e = (err ?? {}) as SdkError;
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? 'Error';
  // The server's text is untrusted: one line of it at most (an XML Message, an HTML page, the SDK's parse failure).
  const text = (e.message ?? '').replace(/\s+/g, ' ').trim();
  const detail = [status, e.code ?? name, text && text !== name ? text.slice(0, 200) : ''].filter(Boolean).join(' ');
  const make = (code: ErrorCode, message: string): StrataError => new StrataError(code, message, { key: where.key }, { cause: err });
  if (name === 'NoSuchBucket') {
    return make('E_PERMANENT', `bucket "${where.bucket}" does not exist (${where.op} at ${where.location})`);
  }
  if (status === 401 || status === 403 || AUTH.has(name)) return make('E_AUTH', `credentials refused by ${where.location}: ${named(name, status)}`);
  if (status === 404 || name === 'NoSuchKey' || name === 'NotFound') return make('E_NOT_FOUND', `no such object in ${where.location}`);
  if (status === 416 || name === 'InvalidRange') return make('E_BAD_RANGE', `range not satisfiable (${where.op} at ${where.location})`);
  if (status === 501 || status === 505 || name === 'NotImplemented') {
    return make('E_PERMANENT', `${where.op} at ${where.location} failed: the server does not implement this request (${detail})`);
  }
  const transient =
    (status !== undefined && (status >= 500 || status === 408 || status === 429)) || TRANSIENT.has(name) || NETWORK.has(e.code ?? '');
  return make(transient ? 'E_TRANSIENT' : 'E_PERMANENT', `${where.op} at ${where.location} failed: ${detail}`);
}
