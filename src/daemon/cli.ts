/**
 * `promspool` command line. `main` returns the exit code instead of exiting, so tests can call
 * it in-process; bin/promspool.js sets `process.exitCode` from it.
 *
 * Exit codes: 0 success / clean shutdown, 1 runtime or config failure (or a forced second-signal
 * exit), 2 usage error.
 */
import { existsSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { PromspoolConfig } from '../config/types.js';
import { BUILT_IN_SOURCE, builtInConfig, type ConfigLoad, loadConfigFromFile } from './config-source.js';
import { type Daemon, type QueueFactory, startDaemon } from './daemon.js';
import { formatInspectReport } from './inspect.js';
import { createDaemonLogger, type DaemonLogger, isLogFormat, isLogLevel, LOG_FORMATS, LOG_LEVELS } from './logger.js';
import { resolveScrapeShard, type ScrapeShard } from './scraping.js';
import { PROMSPOOL_VERSION } from './version.js';

/** Where the CLI writes and what it runs; tests replace parts of it. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Directory `./promspool.yaml` is looked up in. */
  cwd: string;
  /** Installs signal handlers for the daemon; returns a function removing them. */
  onSignal: (signal: NodeJS.Signals, handler: () => void) => () => void;
  /** Ends the process at once (second SIGTERM/SIGINT). */
  exit: (code: number) => void;
  queueFactory?: QueueFactory;
  /** Called once the daemon is listening (tests use it to reach and stop it). */
  onStarted?: (daemon: Daemon) => void;
  /** The pod's hostname for `--scrape.shard-count` without an index; default `$HOSTNAME`, else the OS's. */
  hostname?: string;
}

export const USAGE = `Usage:
  promspool [--config FILE] [--log.level LEVEL] [--log.format FORMAT]
            [--scrape.shard-count N [--scrape.shard-index I]]
      Run the agent. Without --config: ./promspool.yaml if present, else the built-in default
      (receiver on 127.0.0.1:9201, one endpoint http://127.0.0.1:9090/api/v1/write, data in ./data).
  promspool check-config FILE...
      Validate configuration files; prints "FILE: OK" or every error with its path and line.
  promspool inspect DATA_DIR
      Describe the queue in DATA_DIR (storage.path): segments, samples, ack state, corrupt records.
  promspool --version | --help

Options:
  -c, --config FILE        configuration file (YAML)
      --log.level LEVEL    ${LOG_LEVELS.join(' | ')} (default info)
      --log.format FORMAT  ${LOG_FORMATS.join(' | ')} (default logfmt)
      --scrape.shard-count N   scrape only 1/N of every job's targets (hashmod of __address__)
      --scrape.shard-index I   which share, 0..N-1; default: the number ending the hostname
                               (StatefulSet pod promspool-2 -> 2)
  -v, --version            print the version and exit
  -h, --help               print this help and exit

Signals: SIGHUP reloads the configuration; SIGTERM/SIGINT shut down gracefully (a second one exits at once).
`;

export type CliCommand =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'check-config'; files: string[] }
  | { kind: 'inspect'; dir: string }
  | {
      kind: 'run';
      configFile?: string;
      logLevel: 'debug' | 'info' | 'warn' | 'error';
      logFormat: 'logfmt' | 'json';
      shardCount?: string;
      shardIndex?: string;
    };

/** Thrown for a command line that cannot be understood (exit 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Parses the arguments (without `node` and the script). Throws {@link UsageError}. */
export function parseCliArgs(argv: readonly string[]): CliCommand {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };
  const [command, ...rest] = positionals;
  const runOnly =
    values.config !== undefined ||
    values['log.level'] !== undefined ||
    values['log.format'] !== undefined ||
    values['scrape.shard-count'] !== undefined ||
    values['scrape.shard-index'] !== undefined;
  if (command === 'check-config') {
    if (values.config !== undefined) throw new UsageError('check-config takes the file as an argument, not --config');
    if (rest.length === 0) throw new UsageError('check-config needs at least one FILE');
    return { kind: 'check-config', files: rest };
  }
  if (command === 'inspect') {
    if (runOnly) throw new UsageError('inspect takes no --config or --log.* options');
    if (rest.length !== 1) throw new UsageError('inspect needs exactly one DATA_DIR');
    return { kind: 'inspect', dir: rest[0] };
  }
  if (command !== undefined) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  const level = values['log.level'] ?? 'info';
  if (!isLogLevel(level))
    throw new UsageError(`--log.level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(level)}`);
  const format = values['log.format'] ?? 'logfmt';
  if (!isLogFormat(format)) {
    throw new UsageError(`--log.format must be one of ${LOG_FORMATS.join(', ')}, got ${JSON.stringify(format)}`);
  }
  return {
    kind: 'run',
    configFile: values.config,
    logLevel: level,
    logFormat: format,
    ...(values['scrape.shard-count'] === undefined ? {} : { shardCount: values['scrape.shard-count'] }),
    ...(values['scrape.shard-index'] === undefined ? {} : { shardIndex: values['scrape.shard-index'] }),
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      'log.level': { type: 'string' },
      'log.format': { type: 'string' },
      'scrape.shard-count': { type: 'string' },
      'scrape.shard-index': { type: 'string' },
      version: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

const processIo = (): CliIo => ({
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  cwd: process.cwd(),
  onSignal: (signal, handler) => {
    process.on(signal, handler);
    return () => process.off(signal, handler);
  },
  exit: (code) => process.exit(code),
});

/** Runs the command line; resolves to the process exit code. */
export async function main(argv: string[], io: Partial<CliIo> = {}): Promise<number> {
  const full: CliIo = { ...processIo(), ...io };
  let command: CliCommand;
  try {
    command = parseCliArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    full.stderr(`promspool: ${err.message}\nRun 'promspool --help' for usage.\n`);
    return 2;
  }
  switch (command.kind) {
    case 'help':
      full.stdout(USAGE);
      return 0;
    case 'version':
      full.stdout(`promspool ${PROMSPOOL_VERSION} (node ${process.version})\n`);
      return 0;
    case 'check-config':
      return checkConfig(command.files, full);
    case 'inspect':
      return inspect(command.dir, full);
    case 'run':
      return run(command, full);
  }
}

async function checkConfig(files: string[], io: CliIo): Promise<number> {
  let failed = false;
  for (const file of files) {
    const load = await loadConfigFromFile(file);
    const warned = load.warnings.length;
    if (load.config) {
      io.stdout(`${file}: OK${warned > 0 ? ` (${warned} warning${warned === 1 ? '' : 's'})` : ''}\n`);
      for (const w of load.warnings) io.stdout(`  warning: ${w}\n`);
      continue;
    }
    for (const w of load.warnings) io.stderr(`  warning: ${w}\n`);
    failed = true;
    io.stderr(`${file}: ${load.errors.length} error${load.errors.length === 1 ? '' : 's'}\n`);
    for (const e of load.errors) io.stderr(`  ${e}\n`);
  }
  return failed ? 1 : 0;
}

async function inspect(dir: string, io: CliIo): Promise<number> {
  try {
    io.stdout(await formatInspectReport(dir));
    return 0;
  } catch (err) {
    io.stderr(`promspool inspect: ${(err as Error).message}\n`);
    return 1;
  }
}

async function run(command: Extract<CliCommand, { kind: 'run' }>, io: CliIo): Promise<number> {
  let shard: ScrapeShard | undefined;
  try {
    shard = resolveScrapeShard(
      command.shardCount,
      command.shardIndex,
      io.hostname ?? process.env.HOSTNAME ?? osHostname(),
    );
  } catch (err) {
    io.stderr(`promspool: ${(err as Error).message}\nRun 'promspool --help' for usage.\n`);
    return 2;
  }
  const logger = createDaemonLogger({ level: command.logLevel, format: command.logFormat, write: io.stderr });
  const chosen = await chooseConfig(command.configFile, io.cwd, logger);
  if (!chosen) return 1;
  logger.info('starting promspool', { version: PROMSPOOL_VERSION, config: chosen.source, node: process.version });

  let daemon: Daemon;
  try {
    daemon = await startDaemon(chosen.config, {
      logger,
      configPath: chosen.path,
      queueFactory: io.queueFactory,
      ...(shard === undefined ? {} : { scrape: { shard } }),
    });
  } catch (err) {
    logger.error('start-up failed', { err });
    return 1;
  }
  io.onStarted?.(daemon);

  return new Promise<number>((resolveExit) => {
    let signals = 0;
    const removers: (() => void)[] = [];
    const onStop = (signal: NodeJS.Signals) => () => {
      signals++;
      if (signals > 1) {
        // Records are written atomically, so exiting mid-drain loses nothing committed.
        logger.warn('second signal: exiting immediately', { signal });
        io.exit(1);
        return;
      }
      logger.info('shutdown requested', { signal });
      daemon.stop().then(
        () => {
          // Keep the handlers until the end so a second signal still forces the exit.
          for (const remove of removers) remove();
          exitIfStuck(io, 0);
          resolveExit(0);
        },
        (err) => {
          logger.error('shutdown failed', { err });
          for (const remove of removers) remove();
          exitIfStuck(io, 1);
          resolveExit(1);
        },
      );
    };
    removers.push(io.onSignal('SIGTERM', onStop('SIGTERM')));
    removers.push(io.onSignal('SIGINT', onStop('SIGINT')));
    removers.push(
      io.onSignal('SIGHUP', () => {
        logger.info('SIGHUP received');
        void daemon.reload();
      }),
    );
  });
}

/**
 * After a clean stop nothing should keep the process alive; if a forgotten handle does, exit
 * anyway. The timer is unref'd, so it fires only in that case.
 */
function exitIfStuck(io: CliIo, code: number): void {
  setTimeout(() => io.exit(code), 5000).unref();
}

interface ChosenConfig {
  config: PromspoolConfig;
  /** File re-read on reload; undefined for the built-in default. */
  path?: string;
  source: string;
}

async function chooseConfig(
  file: string | undefined,
  cwd: string,
  logger: DaemonLogger,
): Promise<ChosenConfig | undefined> {
  let load: ConfigLoad;
  let path: string | undefined;
  if (file !== undefined) {
    path = resolve(cwd, file);
    load = await loadConfigFromFile(path);
  } else if (existsSync(resolve(cwd, 'promspool.yaml'))) {
    path = resolve(cwd, 'promspool.yaml');
    logger.info('no --config given: using ./promspool.yaml', { path });
    load = await loadConfigFromFile(path);
  } else {
    logger.info('no --config given and no ./promspool.yaml: running the built-in default configuration');
    load = builtInConfig();
  }
  for (const w of load.warnings) logger.warn('configuration key not used', { warning: w });
  if (!load.config) {
    for (const e of load.errors) logger.error('invalid configuration', { error: e });
    return undefined;
  }
  return { config: load.config, path, source: path ?? BUILT_IN_SOURCE };
}
