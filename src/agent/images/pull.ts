// Resolving a reference on a registry: endpoints (mirrors first, then the
// registry itself) × credentials (pull secrets first, then registries.yaml),
// until one answers with the manifest. Later blob fetches go to the endpoint
// and credentials that answered.
import type { RegistryCredentials } from './credentials.ts';
import { documentDigest, type ContentSource } from './install.ts';
import { formatReference, type ImageReference } from './reference.ts';
import { endpointsFor, type RegistriesConfig, type RegistryEndpoint } from './registries-config.ts';
import { type RegistryClient, RegistryError } from './registry-client.ts';

export interface ResolvedImage {
  top: { digest: string; bytes: Buffer; mediaType?: string };
  source: ContentSource;
  endpoint: RegistryEndpoint;
}

function registrySource(options: { client: RegistryClient; endpoint: RegistryEndpoint; repository: string; credentials?: RegistryCredentials }): ContentSource {
  const { client, endpoint, repository, credentials } = options;
  return {
    manifest: (digest) => client.getManifest({ endpoint, repository, reference: digest, credentials }),
    blob: async (descriptor) => {
      try {
        return await client.getBlob({ endpoint, repository, digest: descriptor.digest, credentials });
      } catch (err) {
        throw new Error(`failed to copy: ${(err as Error).message}`, { cause: err });
      }
    },
  };
}

function isAuthFailure(err: unknown): boolean {
  return err instanceof RegistryError && (err.status === 401 || err.status === 403);
}

/** Finds the reference's manifest, trying each endpoint and each set of credentials in turn. */
export async function resolveOnRegistry(options: {
  client: RegistryClient;
  config?: RegistriesConfig;
  reference: ImageReference;
  credentials?: RegistryCredentials[];
}): Promise<ResolvedImage> {
  const { client, reference } = options;
  const name = formatReference(reference);
  const wanted = reference.digest ?? reference.tag ?? 'latest';
  let lastError: unknown;
  for (const endpoint of endpointsFor({ config: options.config, registry: reference.domain })) {
    const candidates: (RegistryCredentials | undefined)[] = [...(options.credentials ?? []), ...(endpoint.auth ? [endpoint.auth] : [])];
    if (candidates.length === 0) candidates.push(undefined);
    for (const credentials of candidates) {
      try {
        const got = await client.getManifest({ endpoint, repository: reference.path, reference: wanted, credentials });
        const digest = documentDigest({ bytes: got.bytes, claimed: got.digestHeader, expected: reference.digest });
        return {
          top: { digest, bytes: got.bytes, mediaType: got.mediaType },
          source: registrySource({ client, endpoint, repository: reference.path, credentials }),
          endpoint,
        };
      } catch (err) {
        lastError = err;
        // Other credentials may be let in; any other failure is this endpoint's, so try the next one.
        if (!isAuthFailure(err)) break;
      }
    }
  }
  const detail = lastError instanceof Error ? lastError.message : String(lastError);
  const prefix = isAuthFailure(lastError) ? 'pull access denied, repository does not exist or may require authorization: ' : '';
  throw new Error(`failed to resolve reference "${name}": ${prefix}${detail}`, { cause: lastError });
}
