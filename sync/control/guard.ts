/**
 * The checks every request to the control endpoint must pass before anything else happens:
 * Host (against DNS rebinding: a page on evil.example that resolves to 127.0.0.1 still sends
 * `Host: evil.example`), Origin and Sec-Fetch-Site (against cross-site requests from a browser),
 * and the token. Pure functions over header values, so each rule is tested alone.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export interface Refusal {
  status: number;
  code: string;
  message: string;
}

/** What the server knows about itself: the Host values and origins it answers to. */
export interface Self {
  hosts: readonly string[];
  origins: readonly string[];
}

/** For a server on `host` (a loopback IP) and `port`: itself by IP or as localhost. */
export function selfOf(host: string, port: number): Self {
  const ip = host.includes(':') ? `[${host}]` : host;
  const hosts = [`${ip}:${port}`, `localhost:${port}`];
  return { hosts, origins: hosts.map((h) => `http://${h}`) };
}

/**
 * `hosts` are every Host header of the request (IncomingMessage.headersDistinct): exactly one, and
 * this endpoint's. Node's `headers.host` keeps only the first of several, which must not decide.
 */
export function checkHost(hosts: readonly string[] | undefined, self: Self): Refusal | undefined {
  if (hosts !== undefined && hosts.length > 1) return { status: 403, code: 'E_CONTROL_HOST', message: `${hosts.length} Host headers; a request must have one` };
  const host = hosts?.[0];
  if (host !== undefined && self.hosts.includes(host.toLowerCase())) return undefined;
  return { status: 403, code: 'E_CONTROL_HOST', message: `Host ${JSON.stringify(host ?? '')} is not this endpoint` };
}

/**
 * A request without Origin comes from a program (or a same-origin GET); with one, the origin must
 * be this server's. `Sec-Fetch-Site`, which browsers set and pages cannot, must not say cross-site.
 */
export function checkOrigin(origin: string | undefined, fetchSite: string | undefined, self: Self): Refusal | undefined {
  if (origin !== undefined && !self.origins.includes(origin.toLowerCase())) {
    return { status: 403, code: 'E_CONTROL_ORIGIN', message: `Origin ${JSON.stringify(origin)} may not use this endpoint` };
  }
  if (fetchSite !== undefined && fetchSite !== 'same-origin' && fetchSite !== 'none') {
    return { status: 403, code: 'E_CONTROL_ORIGIN', message: `a ${fetchSite} request may not use this endpoint` };
  }
  return undefined;
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const m = /^Bearer +([^\s]+) *$/i.exec(authorization ?? '');
  return m?.[1];
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Compares in time independent of where the strings differ, and of their lengths (both are hashed first). */
export function tokenMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  return timingSafeEqual(digest(given), digest(expected));
}

export function checkToken(given: string | undefined, expected: string): Refusal | undefined {
  if (tokenMatches(given, expected)) return undefined;
  return {
    status: 401,
    code: 'E_CONTROL_TOKEN',
    message: given === undefined ? 'missing token: send Authorization: Bearer <token from control.json>' : 'wrong token',
  };
}
