/**
 * The org's bucket, opened with credentials from the keychain (or about to go into it), and the
 * check that proves those credentials before anything is stored.
 *
 * What must hold: credentials go to the S3 client and nowhere else (no message, no file); a
 * check that the bucket refuses is E_CREDENTIALS_REFUSED and leaves nothing behind; every
 * opened store is closed by its owner (its sockets would keep the process alive).
 */
import type { OrgConfig } from '../../shared/org-config.js';
import type { S3Credentials } from '../credentials/index.js';
import { StrataError, isStrataError } from '../errors.js';
import { openRepository, type Repository } from '../repo/index.js';
import type { ObjectStore } from '../store/index.js';
import { RetryingStore } from '../store/retrying.js';
import { S3Store } from '../store/s3.js';

export interface OrgStore {
  /** The bucket under the org's prefix, with retries. */
  store: ObjectStore;
  location: string;
  close(): void;
}

export function openOrgStore(org: OrgConfig, creds: S3Credentials): OrgStore {
  const s = org.store;
  const raw = new S3Store({
    ...(s.endpoint === undefined ? {} : { endpoint: s.endpoint }),
    region: s.region,
    bucket: s.bucket,
    prefix: s.prefix,
    pathStyle: s.pathStyle,
    credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
  });
  return { store: new RetryingStore(raw), location: raw.location, close: () => raw.client.destroy() };
}

/**
 * Opens the org's repository, which reads its format object with signed requests: the cheapest
 * proof that the bucket accepts the credentials. A refusal is E_CREDENTIALS_REFUSED; a bucket
 * with no repository yet is E_NO_REPOSITORY (the admin has to run `strata init` first).
 */
export async function openVerified(org: OrgStore, loadIndex = false): Promise<Repository> {
  try {
    return await openRepository(org.store, { loadIndex });
  } catch (err) {
    if (isStrataError(err, 'E_AUTH')) {
      throw new StrataError('E_CREDENTIALS_REFUSED', `${org.location} refused these credentials (wrong access key or secret, or no access to the bucket); nothing was stored`, {}, { cause: err });
    }
    throw err;
  }
}
