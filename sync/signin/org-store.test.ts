import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseOrgConfig } from '../../shared/org-config.js';
import { parseStoreUrl } from '../store/url.js';
import { orgStoreUrl } from './org-store.js';

const CREDS = { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' };

describe('orgStoreUrl', () => {
  it('names the org config bucket as a store URL that parses back to the same bucket, prefix and server', () => {
    const stores = [
      { endpoint: 'http://127.0.0.1:8080', bucket: 'acme-strata', prefix: 'layers' },
      { endpoint: 'https://[::1]:9000', region: 'eu-west-1', bucket: 'acme', prefix: "a b/it's?#%/x", pathStyle: false },
      { bucket: 'acme.strata', region: 'auto' },
    ];
    for (const store of stores) {
      const org = parseOrgConfig({ version: 1, org: 'acme', store }, 'acme.json');
      const url = orgStoreUrl(org);
      assert.ok(!url.includes("'"), url);
      const spec = parseStoreUrl(url, CREDS);
      assert.equal(spec.kind, 's3');
      if (spec.kind !== 's3') continue;
      const { endpoint, region, bucket, prefix, pathStyle } = spec.options;
      assert.deepEqual({ endpoint, region, bucket, prefix, pathStyle }, { endpoint: org.store.endpoint, region: org.store.region, bucket: org.store.bucket, prefix: org.store.prefix, pathStyle: org.store.pathStyle }, url);
    }
  });
});
