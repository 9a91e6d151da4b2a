import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where the AWS shared files are and which profile to read, from an environment as the AWS SDKs
 * read it: `AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE` (a leading `~/` is the home directory)
 * and `AWS_PROFILE`; an explicit profile (the `sigv4.profile` key) wins over `AWS_PROFILE`.
 */
export interface AwsSharedFiles {
  configFile: string;
  credentialsFile: string;
  /** The profile to read, `default` when neither the config nor `AWS_PROFILE` names one. */
  profile: string;
  /** Whether the profile was chosen (config or `AWS_PROFILE`): the SDKs then skip the environment's static keys. */
  profileChosen: boolean;
}

/** Resolves {@link AwsSharedFiles} from a config profile and an environment. */
export function awsSharedFiles(profile: string | undefined, env: NodeJS.ProcessEnv): AwsSharedFiles {
  const home = env.HOME || env.USERPROFILE || homedir();
  const expand = (path: string): string => (path.startsWith('~/') ? join(home, path.slice(2)) : path);
  const chosen = profile || env.AWS_PROFILE || undefined;
  return {
    configFile: expand(env.AWS_CONFIG_FILE || join(home, '.aws', 'config')),
    credentialsFile: expand(env.AWS_SHARED_CREDENTIALS_FILE || join(home, '.aws', 'credentials')),
    profile: chosen ?? 'default',
    profileChosen: chosen !== undefined,
  };
}

/** Where a region was found, for messages. */
export interface ResolvedRegion {
  region: string;
  source: string;
}

/**
 * The signing region as the AWS SDK for Go (Prometheus' sigv4) resolves it: the `sigv4.region`
 * key, else `AWS_REGION`, else `AWS_DEFAULT_REGION`, else `region` of the profile in the shared
 * config file (then the credentials file). `undefined` when none has one.
 *
 * Read synchronously: a missing region must fail when the endpoint is created, not at its first
 * request.
 */
export function resolveAwsRegion(
  configRegion: string | undefined,
  files: AwsSharedFiles,
  env: NodeJS.ProcessEnv,
): ResolvedRegion | undefined {
  if (configRegion) return { region: configRegion, source: 'sigv4.region' };
  if (env.AWS_REGION) return { region: env.AWS_REGION, source: 'AWS_REGION' };
  if (env.AWS_DEFAULT_REGION) return { region: env.AWS_DEFAULT_REGION, source: 'AWS_DEFAULT_REGION' };
  // The config file names profiles `[profile NAME]` (`[default]` for the default one); the
  // credentials file names them `[NAME]`.
  const fromConfig = iniValue(files.configFile, configFileSections(files.profile), 'region');
  if (fromConfig) return { region: fromConfig, source: `profile ${files.profile} in ${files.configFile}` };
  const fromCredentials = iniValue(files.credentialsFile, [files.profile], 'region');
  if (fromCredentials)
    return { region: fromCredentials, source: `profile ${files.profile} in ${files.credentialsFile}` };
  return undefined;
}

function configFileSections(profile: string): string[] {
  return profile === 'default' ? ['default', 'profile default'] : [`profile ${profile}`];
}

/**
 * The value of `key` in the first of `sections` that has it, in an AWS shared ini file; a file
 * that cannot be read has no values (as for the SDKs, the files are optional). Only top-level
 * `key = value` lines count: an indented line continues the previous key's sub-section.
 */
function iniValue(path: string, sections: string[], key: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const found = new Map<string, string>();
  let section: string | undefined;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[\s*([^\]]*?)\s*\]$/.exec(line);
    if (header) {
      section = header[1].replace(/\s+/g, ' ');
      continue;
    }
    if (section === undefined || !sections.includes(section) || /^\s/.test(rawLine)) continue;
    const eq = line.indexOf('=');
    if (eq <= 0 || line.slice(0, eq).trim() !== key) continue;
    const value = line.slice(eq + 1).trim();
    if (value !== '' && !found.has(section)) found.set(section, value);
  }
  for (const s of sections) {
    const value = found.get(s);
    if (value !== undefined) return value;
  }
  return undefined;
}
