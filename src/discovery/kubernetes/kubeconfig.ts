/**
 * Reading a kubeconfig file (`kubeconfig_file`): the current context's cluster and user, as
 * client-go's `clientcmd.BuildConfigFromFlags` resolves them for what Prometheus uses: server,
 * certificate authority, client certificate and key (files or inline `-data`), bearer token (or
 * token file), basic auth, `insecure-skip-tls-verify` and `tls-server-name`. Relative paths are
 * relative to the kubeconfig file's directory, as kubectl resolves them.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';

/** What a kubeconfig's current context says about reaching the API server. */
export interface KubeconfigCredentials {
  server: string;
  /** PEM text. */
  ca?: string;
  cert?: string;
  key?: string;
  insecureSkipVerify: boolean;
  serverName?: string;
  token?: string;
  /** Re-read like the in-cluster token (a rotated token file keeps working). */
  tokenFile?: string;
  username?: string;
  password?: string;
  /** The context's namespace, if it names one. */
  namespace?: string;
}

type Named<T> = { name?: string } & T;

interface RawKubeconfig {
  'current-context'?: string;
  contexts?: Named<{ context?: { cluster?: string; user?: string; namespace?: string } }>[];
  clusters?: Named<{
    cluster?: {
      server?: string;
      'certificate-authority'?: string;
      'certificate-authority-data'?: string;
      'insecure-skip-tls-verify'?: boolean;
      'tls-server-name'?: string;
    };
  }>[];
  users?: Named<{
    user?: {
      token?: string;
      tokenFile?: string;
      'client-certificate'?: string;
      'client-certificate-data'?: string;
      'client-key'?: string;
      'client-key-data'?: string;
      username?: string;
      password?: string;
      exec?: unknown;
      'auth-provider'?: unknown;
    };
  }>[];
}

/** Reads and resolves `path`; throws an error naming the file and what is missing or unsupported. */
export function loadKubeconfig(path: string): KubeconfigCredentials {
  const where = `kubeconfig ${path}`;
  let raw: RawKubeconfig;
  try {
    raw = (parse(readFileSync(path, 'utf8')) ?? {}) as RawKubeconfig;
  } catch (err) {
    throw new Error(`${where}: cannot read: ${(err as Error).message}`);
  }
  const contextName = raw['current-context'];
  if (contextName === undefined || contextName === '') throw new Error(`${where}: no current-context`);
  const context = raw.contexts?.find((c) => c.name === contextName)?.context;
  if (context === undefined) throw new Error(`${where}: context "${contextName}" not found`);
  const cluster = raw.clusters?.find((c) => c.name === context.cluster)?.cluster;
  if (cluster?.server === undefined) {
    throw new Error(
      `${where}: cluster "${context.cluster ?? ''}" of context "${contextName}" not found or has no server`,
    );
  }
  const user = raw.users?.find((u) => u.name === context.user)?.user ?? {};
  if (user.exec !== undefined || user['auth-provider'] !== undefined) {
    throw new Error(
      `${where}: user "${context.user ?? ''}" uses exec or auth-provider credentials, which promspool does not run`,
    );
  }
  const base = dirname(path);
  const file = (p: string): string => readFileSync(isAbsolute(p) ? p : join(base, p), 'utf8');
  const pem = (data: string | undefined, filePath: string | undefined): string | undefined => {
    if (data !== undefined) return Buffer.from(data, 'base64').toString('utf8');
    return filePath === undefined ? undefined : file(filePath);
  };
  const creds: KubeconfigCredentials = {
    server: cluster.server,
    insecureSkipVerify: cluster['insecure-skip-tls-verify'] === true,
  };
  const ca = pem(cluster['certificate-authority-data'], cluster['certificate-authority']);
  if (ca !== undefined) creds.ca = ca;
  const cert = pem(user['client-certificate-data'], user['client-certificate']);
  if (cert !== undefined) creds.cert = cert;
  const key = pem(user['client-key-data'], user['client-key']);
  if (key !== undefined) creds.key = key;
  if (cluster['tls-server-name'] !== undefined) creds.serverName = cluster['tls-server-name'];
  if (user.token !== undefined) creds.token = user.token;
  else if (user.tokenFile !== undefined)
    creds.tokenFile = isAbsolute(user.tokenFile) ? user.tokenFile : join(base, user.tokenFile);
  if (user.username !== undefined) creds.username = user.username;
  if (user.password !== undefined) creds.password = user.password;
  if (context.namespace !== undefined) creds.namespace = context.namespace;
  return creds;
}
