/**
 * The default device id. Until the agent keeps one in its state folder (issue 4), it is derived
 * from the host name, so that repeated runs on one machine write the same head. The result
 * always satisfies the device id rules of sync/repo/names.ts.
 */
import { hostname } from 'node:os';
import { isDeviceId } from '../repo/names.js';

const MAX_LENGTH = 128;

/** A host name made into a device id: lower case, unsafe characters as "-", never empty. */
export function deviceIdFromHostname(host: string): string {
  const id = host
    .toLowerCase()
    .replace(/[^a-z0-9._@-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, MAX_LENGTH);
  return isDeviceId(id) ? id : 'device';
}

export function defaultDeviceId(): string {
  return deviceIdFromHostname(hostname());
}
