/**
 * Store URLs: the one string that says where a repository lives.
 *
 *   s3://bucket/prefix?endpoint=http://127.0.0.1:8080&region=us-east-1&pathStyle=true
 *   file:///absolute/path
 *   memory:
 *
 * Credentials never go in the URL (it ends up in configs, logs and messages): an s3:// store
 * takes them from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN if set).
 * Anything malformed, unknown or missing is an E_USAGE error that says what to write instead;
 * a URL that carries credentials is refused without echoing them.
 */
import { fileURLToPath } from 'node:url';
import { StrataError } from '../errors.js';
import { DirStore } from './dir.js';
import type { ObjectStore } from './index.js';
import { MemoryStore } from './memory.js';
import { S3Store, type S3StoreOptions } from './s3.js';

export type StoreSpec = { kind: 's3'; options: S3StoreOptions } | { kind: 'file'; path: string } | { kind: 'memory' };

const FORMS = 'use s3://bucket/prefix?endpoint=…&region=…&pathStyle=true, file:///absolute/path or memory:';
const S3_PARAMS = new Set(['endpoint', 'region', 'pathStyle', 'maxConcurrency']);
/** DNS-style bucket names: what every S3-compatible server accepts (Swift's s3api by default). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function usage(message: string): StrataError {
  return new StrataError('E_USAGE', message);
}

export function openStore(url: string, env: NodeJS.ProcessEnv = process.env): ObjectStore {
  const spec = parseStoreUrl(url, env);
  switch (spec.kind) {
    case 's3':
      return new S3Store(spec.options);
    case 'file':
      return new DirStore(spec.path);
    case 'memory':
      return new MemoryStore();
  }
}

export function parseStoreUrl(url: string, env: NodeJS.ProcessEnv = process.env): StoreSpec {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw usage(`not a store URL: "${url}" (${FORMS})`);
  }
  if (parsed.username || parsed.password) {
    throw usage('a store URL must not contain credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead');
  }
  switch (parsed.protocol) {
    case 's3:':
      return { kind: 's3', options: s3Options(parsed, rawPath(url), env) };
    case 'file:':
      return { kind: 'file', path: filePath(parsed) };
    case 'memory:':
      if (parsed.href !== 'memory:') throw usage(`"${url}": a memory store takes no name or options (write memory:)`);
      return { kind: 'memory' };
    default:
      throw usage(`unsupported store URL scheme "${parsed.protocol}" in "${url}" (${FORMS})`);
  }
}

function filePath(url: URL): string {
  if (url.search || url.hash) throw usage(`"${url.href}": a file:// store takes no query or fragment`);
  if (url.host !== '' && url.host !== 'localhost') {
    throw usage(`"${url.href}": a file:// store must be on this machine (file:///path; mount a share first)`);
  }
  return fileURLToPath(url);
}

/** The path as written: URL parsing would silently resolve `a/../b` to `b`. */
function rawPath(url: string): string {
  return /^[a-z0-9+.-]+:\/\/[^/?#]*([^?#]*)/i.exec(url)?.[1] ?? '';
}

function s3Options(url: URL, path: string, env: NodeJS.ProcessEnv): S3StoreOptions {
  const bucket = url.hostname;
  if (!BUCKET.test(bucket)) {
    throw usage(`"${url.href}": "${bucket}" is not a valid bucket name (3–63 of a-z, 0-9, '.', '-')`);
  }
  if (url.port) throw usage(`"${url.href}": put the server in ?endpoint=http://host:port, not in the bucket part`);
  if (url.hash) throw usage(`"${url.href}": an s3:// store takes no fragment`);
  for (const name of url.searchParams.keys()) {
    if (!S3_PARAMS.has(name)) throw usage(`"${url.href}": unknown option "${name}" (known: ${[...S3_PARAMS].join(', ')})`);
  }
  const q = url.searchParams;
  const endpoint = q.get('endpoint') ?? undefined;
  if (endpoint !== undefined) checkEndpoint(endpoint);
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw usage(`s3://${bucket} needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`);
  }
  return {
    ...(endpoint ? { endpoint } : {}),
    region: q.get('region') || env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    bucket,
    prefix: s3Prefix(url, path),
    // Servers other than AWS rarely do virtual-hosted buckets; path style is their safe default.
    pathStyle: flag(q.get('pathStyle'), endpoint !== undefined),
    credentials: { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) },
    ...(q.has('maxConcurrency') ? { maxConcurrency: positiveInt(q.get('maxConcurrency') ?? '', 'maxConcurrency') } : {}),
  };
}

function s3Prefix(url: URL, path: string): string {
  let prefix: string;
  try {
    prefix = decodeURIComponent(path).replace(/^\/+|\/+$/g, '');
  } catch {
    throw usage(`"${url.href}": the prefix is not valid percent-encoding`);
  }
  if (prefix !== '' && prefix.split('/').some((part) => part === '' || part === '.' || part === '..' || part.includes('\0'))) {
    throw usage(`"${url.href}": the prefix "${prefix}" has an empty, '.' or '..' part`);
  }
  return prefix;
}

function checkEndpoint(endpoint: string): void {
  let parsed: URL;
  try {
    parsed = new URL(endpoint);
  } catch {
    throw usage(`endpoint "${endpoint}" is not a URL (write e.g. endpoint=http://127.0.0.1:8080)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw usage(`endpoint "${endpoint}" must be http:// or https://`);
  if (parsed.username || parsed.password) throw usage('the endpoint must not contain credentials');
}

function flag(value: string | null, fallback: boolean): boolean {
  if (value === null) return fallback;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw usage(`pathStyle must be true or false, not "${value}"`);
}

function positiveInt(value: string, name: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw usage(`${name} must be a positive integer, not "${value}"`);
  return n;
}
