import type { FromTemporaryCredentialsOptions } from '@aws-sdk/credential-providers';
import {
  fromHttp,
  fromIni,
  fromInstanceMetadata,
  fromTemporaryCredentials,
  fromTokenFile,
} from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { SigV4Config } from '../config/types.js';
import { RetryableError } from '../errors.js';
import type { AwsSharedFiles } from './aws-region.js';

export type { AwsCredentialIdentity, AwsCredentialIdentityProvider };

/**
 * Credentials are refreshed this long before they expire (the AWS SDK for JavaScript's window):
 * long enough for a slow or failing STS to be retried while the old ones still sign.
 */
export const CREDENTIALS_REFRESH_WINDOW_MS = 5 * 60_000;

/** One link of the credential chain: a name for messages and a provider, or why it is skipped. */
interface ChainLink {
  name: string;
  provider?: AwsCredentialIdentityProvider;
  skipped?: string;
}

/**
 * The default AWS credential chain, in the order of the AWS SDKs (Go's, which Prometheus uses, and
 * JavaScript's `fromNodeProviderChain`), read from `env` rather than `process.env` so tests and
 * embedders can give their own:
 * 1. `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (`AWS_SESSION_TOKEN`), unless a profile is chosen;
 * 2. the profile in the shared credentials and config files (static keys, `role_arn` with
 *    `source_profile`, `credential_process`, `web_identity_token_file`, SSO);
 * 3. web identity from `AWS_WEB_IDENTITY_TOKEN_FILE` and `AWS_ROLE_ARN` (EKS service accounts);
 * 4. the container credentials endpoint (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` / `_FULL_URI`), or
 * 5. the EC2 instance metadata service, unless `AWS_EC2_METADATA_DISABLED` is set.
 *
 * The first link that answers wins; a link that fails for a reason other than "not configured"
 * (a broken profile, an STS error) ends the chain, as in the SDK. The rejection is a
 * {@link RetryableError} `ERR_SIGV4_CREDENTIALS` listing what each link said.
 */
export function defaultCredentialChain(
  files: AwsSharedFiles,
  region: string,
  env: NodeJS.ProcessEnv,
): AwsCredentialIdentityProvider {
  // STS for profiles with role_arn and for web identity: the signing region, and the SDKs'
  // endpoint override variables of this environment.
  const stsEndpoint = env.AWS_ENDPOINT_URL_STS || env.AWS_ENDPOINT_URL;
  const clientConfig = { region, ...(stsEndpoint ? { endpoint: stsEndpoint } : {}) };
  const links: ChainLink[] = [
    files.profileChosen
      ? { name: 'environment', skipped: `profile "${files.profile}" is chosen` }
      : { name: 'environment', provider: async () => envCredentials(env) },
    {
      name: `profile "${files.profile}" (${files.credentialsFile}, ${files.configFile})`,
      provider: fromIni({
        profile: files.profile,
        filepath: files.credentialsFile,
        configFilepath: files.configFile,
        // Re-read the files on every refresh: a sidecar may rotate them.
        ignoreCache: true,
        clientConfig,
      }),
    },
    env.AWS_WEB_IDENTITY_TOKEN_FILE && env.AWS_ROLE_ARN
      ? {
          name: 'web identity (AWS_WEB_IDENTITY_TOKEN_FILE)',
          provider: fromTokenFile({
            webIdentityTokenFile: env.AWS_WEB_IDENTITY_TOKEN_FILE,
            roleArn: env.AWS_ROLE_ARN,
            roleSessionName: env.AWS_ROLE_SESSION_NAME,
            clientConfig,
          }),
        }
      : { name: 'web identity', skipped: 'AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are not both set' },
    remoteLink(env),
  ];
  return async () => {
    const failures: string[] = [];
    for (const link of links) {
      if (link.provider === undefined) {
        failures.push(`${link.name}: skipped, ${link.skipped}`);
        continue;
      }
      try {
        return await link.provider();
      } catch (err) {
        failures.push(`${link.name}: ${describe(err)}`);
        if (!isNotConfigured(err)) break;
      }
    }
    throw new RetryableError(
      'ERR_SIGV4_CREDENTIALS',
      `sigv4: no AWS credentials (configure sigv4 access_key and secret_key, or the AWS environment): ${failures.join('; ')}`,
    );
  };
}

/** Container credentials when the container variables are set, else instance metadata unless disabled. */
function remoteLink(env: NodeJS.ProcessEnv): ChainLink {
  if (env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || env.AWS_CONTAINER_CREDENTIALS_FULL_URI) {
    return {
      name: 'container credentials endpoint',
      provider: fromHttp({
        awsContainerCredentialsRelativeUri: env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
        awsContainerCredentialsFullUri: env.AWS_CONTAINER_CREDENTIALS_FULL_URI,
        awsContainerAuthorizationToken: env.AWS_CONTAINER_AUTHORIZATION_TOKEN,
        awsContainerAuthorizationTokenFile: env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,
      }),
    };
  }
  const disabled = env.AWS_EC2_METADATA_DISABLED;
  if (disabled && disabled.toLowerCase() !== 'false') {
    return { name: 'EC2 instance metadata', skipped: 'AWS_EC2_METADATA_DISABLED is set' };
  }
  return { name: 'EC2 instance metadata', provider: fromInstanceMetadata({ timeout: 1000, maxRetries: 1 }) };
}

/** The environment's static keys (the SDK's `fromEnv`, reading the given environment). */
function envCredentials(env: NodeJS.ProcessEnv): AwsCredentialIdentity {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new NotConfigured('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set');
  }
  const expiry = env.AWS_CREDENTIAL_EXPIRATION;
  return {
    accessKeyId,
    secretAccessKey,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    ...(expiry ? { expiration: new Date(expiry) } : {}),
  };
}

class NotConfigured extends Error {
  readonly tryNextLink = true;
}

/** The SDK's providers mark "not configured here, try the next" with `tryNextLink` (`CredentialsProviderError`). */
function isNotConfigured(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { tryNextLink?: unknown }).tryNextLink === true;
}

function describe(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // SDK messages can span lines (hints); one line keeps the error readable in logs and status.
  return message.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * The STS AssumeRole settings for `sigv4.role_arn`, as Prometheus' (`stscreds` with the external
 * ID) over the source credentials: the STS client of the signing region, its FIPS endpoint with
 * `use_fips_sts_endpoint`, and an endpoint override from `AWS_ENDPOINT_URL_STS` /
 * `AWS_ENDPOINT_URL` (the SDKs' service endpoint variables) in `env`.
 */
export function assumeRoleOptions(
  config: Pick<SigV4Config, 'roleArn' | 'externalId' | 'useFipsStsEndpoint'> & { roleArn: string },
  region: string,
  source: AwsCredentialIdentityProvider,
  env: NodeJS.ProcessEnv,
): FromTemporaryCredentialsOptions {
  const endpoint = env.AWS_ENDPOINT_URL_STS || env.AWS_ENDPOINT_URL;
  return {
    params: {
      RoleArn: config.roleArn,
      ...(config.externalId ? { ExternalId: config.externalId } : {}),
      RoleSessionName: `promspool-${Date.now()}`,
    },
    masterCredentials: source,
    clientConfig: {
      region,
      useFipsEndpoint: config.useFipsStsEndpoint,
      ...(endpoint ? { endpoint } : {}),
    },
  };
}

/** Credentials from STS AssumeRole of `roleArn` (see {@link assumeRoleOptions}); failures are retryable. */
export function assumeRoleProvider(options: FromTemporaryCredentialsOptions): AwsCredentialIdentityProvider {
  const provider = fromTemporaryCredentials(options);
  return async () => {
    try {
      return await provider();
    } catch (err) {
      throw new RetryableError(
        'ERR_SIGV4_ASSUME_ROLE',
        `sigv4: STS AssumeRole of ${options.params.RoleArn} failed: ${describe(err)}`,
        undefined,
        { cause: err },
      );
    }
  };
}

/**
 * Caches credentials until {@link CREDENTIALS_REFRESH_WINDOW_MS} before they expire (for ever when
 * they do not), with one fetch at a time. A failed refresh keeps signing with credentials that
 * have not expired yet and tries again on the next call; once none are valid, it rejects.
 */
export function cachedCredentials(
  provider: AwsCredentialIdentityProvider,
  now: () => number,
  refreshWindowMs = CREDENTIALS_REFRESH_WINDOW_MS,
): AwsCredentialIdentityProvider {
  let current: AwsCredentialIdentity | undefined;
  let pending: Promise<AwsCredentialIdentity> | undefined;
  const msLeft = (c: AwsCredentialIdentity): number =>
    c.expiration === undefined ? Number.POSITIVE_INFINITY : c.expiration.getTime() - now();
  return async () => {
    const cached = current;
    if (cached !== undefined && msLeft(cached) > refreshWindowMs) return cached;
    pending ??= provider().then(
      (fresh) => {
        pending = undefined;
        current = fresh;
        return fresh;
      },
      (err: unknown) => {
        pending = undefined;
        throw err;
      },
    );
    try {
      return await pending;
    } catch (err) {
      if (cached !== undefined && msLeft(cached) > 0) return cached;
      throw err;
    }
  };
}
