/**
 * The daemon as one object: queue, HTTP server, receiver, self-monitoring, reload and graceful
 * stop. The CLI wraps it with signals; tests start it in-process with a fake queue.
 */

import type { AddressInfo } from 'node:net';
import { availableParallelism, hostname as osHostname } from 'node:os';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { type Clock, systemClock } from '../clock.js';
import type { PromspoolConfig, ServerTlsConfig } from '../config/types.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import type * as QueueModule from '../queue.js';
import type { ManagedQueue } from '../queue-types.js';
import { ScrapeManager } from '../scrape/scrape-manager.js';
import {
  BUILT_IN_SOURCE,
  builtInConfig,
  type ConfigLoad,
  loadConfigFromFile,
  parseConfigText,
} from './config-source.js';
import type { RemoteWriteVersion } from './content-negotiation.js';
import { createIngester, type RemoteWriteDecode } from './ingest.js';
import { localUrl, parseListenAddress } from './listen-address.js';
import { memoryBudget } from './memory-budget.js';
import { startMemoryPacer } from './memory-pacer.js';
import { startMemoryReserve } from './memory-reserve.js';
import { createRemoteWriteReceiver, type Uncompress } from './receiver.js';
import { createDaemonMetrics } from './receiver-metrics.js';
import { createRelayScanner } from './relay-scanner.js';
import type { ScrapeDaemonOptions } from './scraping.js';
import { createDaemonScrapeComponents } from './scraping.js';
import { type SelfMonitor, startSelfMonitoring } from './self-monitoring.js';
import {
  createDaemonServer,
  DEFAULT_SERVER_LIMITS,
  type ReloadResult,
  type ServerLimits,
  serverSecureContextOptions,
} from './server.js';
import { loadStatusAssets } from './status-assets.js';
import { readReceiverCounts, StatusCollector } from './status-collector.js';
import { renderStatusPage } from './status-page.js';
import { targetsJson } from './targets-api.js';
import { renderTargetsPage } from './targets-page.js';
import { PROMSPOOL_VERSION } from './version.js';
import { defaultDecoders, defaultUncompress } from './wire-bindings.js';

/** Creates the queue the daemon runs; the default is the real one (`createManagedQueue`). */
export type QueueFactory = (
  config: PromspoolConfig,
  deps: { registry: Registry; logger: Logger; deliveryWorkers: number },
) => Promise<ManagedQueue>;

export interface StartDaemonOptions {
  logger?: Logger;
  queueFactory?: QueueFactory;
  /** File that `reload()` without text (SIGHUP, `POST /-/reload`) re-reads. Without it such a reload re-applies the built-in default. */
  configPath?: string;
  /** Registry for every metric; a new one by default. */
  registry?: Registry;
  /** Adds prom-client's process metrics (default true). */
  collectDefaultMetrics?: boolean;
  /** Host part of the self-monitoring `instance` label; default `os.hostname()`. */
  hostname?: string;
  clock?: Clock;
  limits?: Partial<ServerLimits>;
  /** Decompressor for receiver bodies; default snappy via src/wire. */
  uncompress?: Uncompress;
  /** Body decoders for the receiver; default src/wire's. */
  decoders?: Record<RemoteWriteVersion, RemoteWriteDecode>;
  /**
   * Worker threads that uncompress and scan relayed remote-write 1.0 bodies (see
   * relay-scanner.ts). Default 1 when the machine has more than one CPU, else 0 (the event
   * loop does it). Always 0 with a custom `uncompress`, which a worker cannot run.
   */
  relayScanWorkers?: number;
  /**
   * Size of the memory reserve that makes V8 collect dead array buffers sooner (memory-reserve.ts);
   * 0 = none, else more than 32 MiB. Default: none, or 40 MiB under `storage.max_memory_bytes`
   * (memory-budget.ts).
   */
  memoryReserveBytes?: number;
  /**
   * Endpoints that deliver from a worker thread. Default: the CPUs left after the event loop and
   * the relay scan workers (0 on 2 CPUs); the others deliver on the event loop.
   */
  deliveryWorkers?: number;
  /** Scraping (`scrape_configs`): discovery factory, update delay, sharding. */
  scrape?: ScrapeDaemonOptions;
}

export interface Daemon {
  /** Base URL a local client reaches the server on, e.g. `http://127.0.0.1:9201` (`https://` with `server.tls_config`). */
  readonly url: string;
  readonly port: number;
  /** The configuration running now (changes on a successful reload). */
  readonly config: PromspoolConfig;
  readonly queue: ManagedQueue;
  readonly registry: Registry;
  /** The scrape jobs (none when `scrape_configs` is empty). */
  readonly scrapeManager: ScrapeManager;
  /**
   * Re-reads the config file (or parses `text` when given), validates it and applies it.
   * Invalid: every error is logged, the old config keeps running, `{ ok: false, status: 400 }`.
   * Reloads run one at a time.
   */
  reload(text?: string): Promise<ReloadResult>;
  /**
   * Graceful stop: new writes get 503, writes in flight finish, the listener closes, the queue
   * flushes and drains within `server.shutdown_timeout`. Idempotent.
   */
  stop(): Promise<void>;
  readonly stopping: boolean;
}

/** One relay scan worker when there is a second CPU for it; on one CPU it would only add copies. */
function defaultRelayScanWorkers(): number {
  return availableParallelism() > 1 ? 1 : 0;
}

/**
 * Endpoints that deliver from a worker: the CPUs left after the event loop and the relay scan
 * worker, so on 2 CPUs delivery runs on the event loop. A relayed request goes out as the groups
 * the scan stored, which leaves the delivery side light: a delivery worker beside the scan worker
 * on 2 CPUs cost more than it gave (relay benchmark, alternated: 0.76-0.94 -> 0.69-0.75 CPU s per
 * 1M samples warm, ~35 MB less peak RSS, samples/s the same or better; bench/RESULTS.md).
 */
function defaultDaemonDeliveryWorkers(scanWorkers: number): number {
  return Math.max(0, availableParallelism() - 1 - scanWorkers);
}

/** Starts the daemon with an already validated configuration. */
export async function startDaemon(config: PromspoolConfig, options: StartDaemonOptions = {}): Promise<Daemon> {
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? systemClock;
  const registry = options.registry ?? new Registry();
  if (options.collectDefaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const metrics = createDaemonMetrics(registry);
  const limits: ServerLimits = { ...DEFAULT_SERVER_LIMITS, ...options.limits };
  const listen = parseListenAddress(config.server.listenAddress);

  const scanWorkers = options.uncompress === undefined ? (options.relayScanWorkers ?? defaultRelayScanWorkers()) : 0;
  const queueFactory = options.queueFactory ?? defaultQueueFactory;
  const queue = await queueFactory(config, {
    registry,
    logger: logger.child({ component: 'queue' }),
    deliveryWorkers: options.deliveryWorkers ?? defaultDaemonDeliveryWorkers(scanWorkers),
  });

  const hostname = options.hostname ?? osHostname();
  const scrapeLogger = logger.child({ component: 'scrape' });
  const scrapeSetup = await createDaemonScrapeComponents({
    options: options.scrape ?? {},
    sink: queue,
    clock,
    logger: scrapeLogger,
    registry,
    version: PROMSPOOL_VERSION,
    hostname,
    externalLabels: config.externalLabels,
  });
  const scrapeManager = new ScrapeManager({
    components: scrapeSetup.components,
    clock,
    logger: scrapeLogger,
    registry,
    updateDelayMs: options.scrape?.updateDelayMs,
    extraRelabelConfigs: scrapeSetup.extraRelabelConfigs,
  });

  let current = config;
  let stopping = false;
  let scrapeStarted = false;
  let stopPromise: Promise<void> | undefined;
  let reloadChain: Promise<unknown> = Promise.resolve();
  let selfMonitor: SelfMonitor | undefined;
  const startedAtMs = clock.now();
  metrics.reloadSuccessful.set(1);
  metrics.reloadSuccessTimestamp.set(startedAtMs / 1000);

  // storage.max_memory_bytes: bounds the series cache and paces collections (fixed for the
  // daemon's life, like the cache it sizes).
  const budget = memoryBudget(config.storage.maxMemoryBytes ?? 0);
  const reserveBytes = options.memoryReserveBytes ?? budget.reserveBytes;
  const reserve = reserveBytes > 0 ? startMemoryReserve({ bytes: reserveBytes, clock }) : undefined;
  const pacer =
    budget.pacerSlackBytes === undefined
      ? undefined
      : startMemoryPacer({
          slackBytes: budget.pacerSlackBytes,
          rssBytes: budget.pacerRssBytes,
          clock,
          // The reserve is no garbage: its coming and going is not growth to pace.
          arrayBuffers: () => process.memoryUsage().arrayBuffers - (reserve?.stats().heldBytes ?? 0),
        });
  const uncompress = options.uncompress ?? defaultUncompress;
  const receiverLogger = logger.child({ component: 'receiver' });
  const relayScanner = createRelayScanner({
    workers: scanWorkers,
    uncompress,
    logger: receiverLogger,
    // Fixed for the daemon's life, like the queue's series registry (see the reload below).
    nameValidationScheme: config.nameValidationScheme,
  });
  const receiver = createRemoteWriteReceiver({
    config: config.receiver,
    queue,
    ingester: createIngester(queue, {
      decoders: options.decoders ?? defaultDecoders,
      maxCachedSeries: budget.maxCachedSeries,
      maxCachedBytes: budget.maxCachedBytes,
    }),
    uncompress,
    metrics,
    logger: receiverLogger,
    maxConcurrentBodies: limits.maxConcurrentBodies,
    rawRequests: queue,
    relayScanner,
    clock,
  });

  // Sampled from the start, so rates and charts have history by the time anyone looks.
  const statusCollector = new StatusCollector({
    clock,
    queue,
    config: () => current,
    receiverCounts: () => readReceiverCounts(metrics),
    version: PROMSPOOL_VERSION,
    configSource: options.configPath ?? BUILT_IN_SOURCE,
    startedAtMs,
    logger: logger.child({ component: 'http' }),
  });
  const statusAssets = loadStatusAssets(logger.child({ component: 'http' }));

  const server = createDaemonServer(
    {
      receiverPath: () => (current.receiver.enabled ? current.receiver.path : undefined),
      receiver,
      registry,
      // Scraping counts as started once every job applied its first targets (at most the
      // discovery update delay after start), so a rollout waits for the new pod to scrape. A job
      // added by a reload does not make a running daemon unready.
      isReady: () => queue.ready && scrapeStarted,
      isStopping: () => stopping,
      reload: () => reload(),
      statusPage: async () => renderStatusPage({ status: await statusCollector.status(), config: current }),
      status: () => statusCollector.status(),
      targetsPage: () =>
        renderTargetsPage({ jobs: scrapeManager.targets(), nowMs: clock.now(), version: PROMSPOOL_VERSION }),
      targets: (search) => targetsJson(scrapeManager.targets(), search, hostname),
      staticAsset: (path) => statusAssets.get(path),
      logger: logger.child({ component: 'http' }),
    },
    limits,
    config.server.tlsConfig,
  );

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen.port, listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    logger.error('cannot listen', { address: config.server.listenAddress, err });
    await relayScanner.close();
    await queue.stop();
    throw err;
  }
  server.on('error', (err) => logger.error('HTTP server error', { err }));
  const port = (server.address() as AddressInfo).port;
  const plainUrl = localUrl(listen.host, port);
  const url = config.server.tlsConfig === undefined ? plainUrl : plainUrl.replace(/^http:/, 'https:');
  const instance = `${hostname}:${port}`;

  const startSelf = (c: PromspoolConfig) => {
    if (!c.selfMonitoring.enabled) return undefined;
    return startSelfMonitoring({
      queue,
      registry,
      intervalMs: c.selfMonitoring.intervalMs,
      instance,
      clock,
      logger: logger.child({ component: 'self-monitoring' }),
    });
  };
  selfMonitor = startSelf(config);
  statusCollector.start();
  await scrapeManager.applyConfig(config.scrapeConfigs ?? []);
  // Every job's first targets are applied (their loops started) before the daemon says it is up:
  // static and file discovery report at once, and a discoverer that does not is given up on after
  // the discovery update delay (5 s), so this never waits longer.
  await scrapeManager.whenReady();
  scrapeStarted = true;
  logger.info('listening', {
    address: config.server.listenAddress,
    url,
    receiver: config.receiver.enabled ? config.receiver.path : 'disabled',
    endpoints: config.remoteWrite.map((e) => e.name).join(','),
    scrape_jobs: (config.scrapeConfigs ?? []).map((c) => c.jobName).join(','),
    tls: describeServerTls(config.server.tlsConfig),
  });

  const applyLoad = async (load: ConfigLoad): Promise<ReloadResult> => {
    for (const w of load.warnings) logger.warn('configuration key not used', { warning: w });
    if (!load.config) {
      for (const e of load.errors) logger.error('invalid configuration, keeping the running one', { error: e });
      metrics.reloadSuccessful.set(0);
      return { ok: false, status: 400, errors: load.errors };
    }
    const next = load.config;
    if (next.server.listenAddress !== current.server.listenAddress) {
      logger.warn('server.listen_address changed; it takes effect only after a restart', {
        running: current.server.listenAddress,
        configured: next.server.listenAddress,
      });
    }
    if (next.nameValidationScheme !== config.nameValidationScheme) {
      // Series already validated (the queue's registry, the receiver's series cache) were judged
      // by the rule the daemon started with: a new rule applies to all of them only after a restart.
      logger.warn('global.metric_name_validation_scheme changed; it takes effect only after a restart', {
        running: config.nameValidationScheme,
        configured: next.nameValidationScheme,
      });
    }
    // Compared with what the listener was started with, not the last config: that may hold a TLS
    // change that is still waiting for a restart.
    const tlsChange = serverTlsChange(config.server.tlsConfig, next.server.tlsConfig);
    if (tlsChange !== undefined) {
      logger.warn(`${tlsChange}; it takes effect only after a restart`, {
        running: describeServerTls(config.server.tlsConfig),
        configured: describeServerTls(next.server.tlsConfig),
      });
    }
    try {
      await queue.applyConfig(next);
    } catch (err) {
      logger.error('applying the new configuration failed', { err });
      metrics.reloadSuccessful.set(0);
      return { ok: false, status: 500, errors: [(err as Error).message] };
    }
    const previous = current;
    current = next;
    receiver.setConfig(next.receiver);
    // After the queue: a new endpoint already receives what the changed jobs scrape.
    try {
      await scrapeManager.applyConfig(next.scrapeConfigs ?? []);
    } catch (err) {
      logger.error('applying the scrape configuration failed', { err });
      metrics.reloadSuccessful.set(0);
      return { ok: false, status: 500, errors: [(err as Error).message] };
    }
    // The files were read again by the reload: rotated certificates apply to new connections.
    const nextTls = next.server.tlsConfig;
    if (nextTls !== undefined && tlsChange === undefined && 'setSecureContext' in server) {
      server.setSecureContext(serverSecureContextOptions(nextTls));
      logger.info('TLS certificate and key reloaded', { cert_file: nextTls.certFile });
    }
    if (
      previous.selfMonitoring.enabled !== next.selfMonitoring.enabled ||
      previous.selfMonitoring.intervalMs !== next.selfMonitoring.intervalMs
    ) {
      await selfMonitor?.stop();
      selfMonitor = stopping ? undefined : startSelf(next);
    }
    metrics.reloadSuccessful.set(1);
    metrics.reloadSuccessTimestamp.set(clock.now() / 1000);
    logger.info('configuration reloaded', { endpoints: next.remoteWrite.map((e) => e.name).join(',') });
    return { ok: true };
  };

  const reload = (text?: string): Promise<ReloadResult> => {
    const run = async (): Promise<ReloadResult> => {
      if (stopping) return { ok: false, status: 400, errors: ['shutting down'] };
      const source = options.configPath ?? BUILT_IN_SOURCE;
      logger.info('reloading configuration', { source: text === undefined ? source : 'request' });
      let load: ConfigLoad;
      if (text !== undefined) load = parseConfigText(text, options.configPath ?? 'reload');
      else if (options.configPath) load = await loadConfigFromFile(options.configPath);
      else load = builtInConfig();
      return applyLoad(load);
    };
    const result = reloadChain.then(run, run);
    reloadChain = result;
    return result;
  };

  const stop = (): Promise<void> => {
    if (stopPromise) return stopPromise;
    stopping = true;
    stopPromise = (async () => {
      const timeoutMs = current.server.shutdownTimeoutMs;
      if (scrapeManager.jobNames.length > 0) {
        // First, so the scrapes in progress still reach the queue. No stale markers: the targets
        // are not gone, and Prometheus writes none on shutdown either.
        logger.info('shutting down: stopping scrapes', { jobs: scrapeManager.jobNames.length });
        const scrapesStopped = await waitAtMost(scrapeManager.stop(), timeoutMs, clock);
        if (!scrapesStopped) logger.warn('scrapes still in progress at the shutdown timeout');
      } else {
        await scrapeManager.stop();
      }
      logger.info('shutting down: refusing new writes', { in_flight: receiver.inFlight, timeout_ms: timeoutMs });
      receiver.refuse();
      await selfMonitor?.stop();
      selfMonitor = undefined;
      statusCollector.stop();
      const finished = await waitAtMost(receiver.idle(), timeoutMs, clock);
      if (!finished) logger.warn('writes still in flight at the shutdown timeout', { in_flight: receiver.inFlight });
      logger.info('shutting down: closing the listener');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      logger.info('shutting down: flushing and draining the queue');
      try {
        await queue.stop();
      } catch (err) {
        logger.error('queue stop failed', { err });
      }
      server.closeAllConnections();
      await closed;
      await relayScanner.close();
      pacer?.stop();
      reserve?.stop();
      logger.info('shutdown complete');
    })();
    return stopPromise;
  };

  return {
    url,
    port,
    get config() {
      return current;
    },
    queue,
    registry,
    scrapeManager,
    reload,
    stop,
    get stopping() {
      return stopping;
    },
  };
}

/** `https, client certificates required` / `off`: for logs (never file contents). */
function describeServerTls(tls: ServerTlsConfig | undefined): string {
  if (tls === undefined) return 'off';
  return tls.clientAuthType === 'RequireAndVerifyClientCert' ? 'on, client certificates required' : 'on';
}

/**
 * What about `server.tls_config` needs a restart: switching TLS on or off (the listener's kind)
 * or changing `client_auth_type` (fixed per listener); undefined when a reload can apply it.
 */
function serverTlsChange(running: ServerTlsConfig | undefined, next: ServerTlsConfig | undefined): string | undefined {
  if (running === undefined && next === undefined) return undefined;
  if (running === undefined) return 'server.tls_config was added';
  if (next === undefined) return 'server.tls_config was removed';
  if (running.clientAuthType !== next.clientAuthType) return 'server.tls_config.client_auth_type changed';
  return undefined;
}

/** Resolves true if `p` settled within `ms`, false otherwise. */
function waitAtMost(p: Promise<unknown>, ms: number, clock: Clock): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = clock.setTimeout(() => resolve(false), ms);
    p.then(
      () => {
        clock.clearTimeout(timer);
        resolve(true);
      },
      () => {
        clock.clearTimeout(timer);
        resolve(true);
      },
    );
  });
}

const defaultQueueFactory: QueueFactory = async (config, deps) => {
  // Imported lazily so the daemon's unit tests (fake queue) do not load the whole pipeline.
  const mod = (await import(QUEUE_MODULE)) as typeof QueueModule;
  return mod.createManagedQueue(config, deps);
};

const QUEUE_MODULE = '../queue.js';
