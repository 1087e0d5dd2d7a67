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
  /** The same bucket and prefix as a store URL (`strata init --store` takes it). */
  url: string;
  close(): void;
}

/** The org's bucket as a store URL: s3://bucket/prefix?endpoint=…&region=…&pathStyle=…. */
export function orgStoreUrl(org: OrgConfig): string {
  const s = org.store;
  // The prefix is percent-encoded (quotes too: the URL is shown in single quotes); parseOrgConfig
  // allows nothing in the endpoint or region that a query would need escaped.
  const prefix = s.prefix.split('/').map((part) => encodeURIComponent(part).replaceAll("'", '%27')).join('/');
  const query = [...(s.endpoint === undefined ? [] : [`endpoint=${s.endpoint}`]), `region=${s.region}`, `pathStyle=${s.pathStyle}`];
  return `s3://${s.bucket}${prefix === '' ? '' : `/${prefix}`}?${query.join('&')}`;
}

export function openOrgStore(org: OrgConfig, creds: S3Credentials): OrgStore {
  const raw = orgS3Store(org, creds);
  return { store: new RetryingStore(raw), location: raw.location, url: orgStoreUrl(org), close: () => raw.client.destroy() };
}

/** The org's bucket without retries, for a caller that wraps it itself (the CLI's counting store); its owner destroys its client. */
export function orgS3Store(org: OrgConfig, creds: S3Credentials): S3Store {
  const s = org.store;
  return new S3Store({
    ...(s.endpoint === undefined ? {} : { endpoint: s.endpoint }),
    region: s.region,
    bucket: s.bucket,
    prefix: s.prefix,
    pathStyle: s.pathStyle,
    credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
  });
}

/**
 * Opens the org's repository, which reads its format object with signed requests: the cheapest
 * proof that the bucket accepts the credentials. A refusal is E_CREDENTIALS_REFUSED; a bucket
 * with no repository yet is E_NO_REPOSITORY, naming the org config (`source`, when given) and
 * the `strata init` that the admin runs to create it.
 */
export async function openVerified(org: OrgStore, loadIndex = false, source?: string): Promise<Repository> {
  try {
    return await openRepository(org.store, { loadIndex });
  } catch (err) {
    if (isStrataError(err, 'E_AUTH')) {
      throw new StrataError('E_CREDENTIALS_REFUSED', `${org.location} refused these credentials (wrong access key or secret, or no access to the bucket); nothing was stored`, {}, { cause: err });
    }
    if (isStrataError(err, 'E_NO_REPOSITORY')) {
      const config = source === undefined ? 'the org config' : `the org config ${source}`;
      const message = `no repository at ${org.location}: check store.bucket and store.prefix in ${config}, or have the admin create it (strata init --store '${org.url}')`;
      throw new StrataError('E_NO_REPOSITORY', message, { key: err.key }, { cause: err });
    }
    throw err;
  }
}
