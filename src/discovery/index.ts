/**
 * Service discovery: one {@link Discoverer} per discovery block of a scrape config
 * ({@link createDiscoverer}), each keeping {@link DiscoveryStats}.
 */
import type { Clock } from '../clock.js';
import type { DiscoveryConfig } from '../config/types.js';
import type { Logger } from '../logger.js';
import { createFileDiscoverer } from './file.js';
import { createHttpDiscoverer } from './http.js';
import { createKubernetesDiscoverer } from './kubernetes/index.js';
import { createStaticDiscoverer } from './static.js';
import type { Discoverer, DiscoveryStats } from './types.js';

export { createFileDiscoverer, FILE_PATH_LABEL, readGroupsFile } from './file.js';
export { createHttpDiscoverer, URL_LABEL } from './http.js';
export { createStaticDiscoverer, staticTargetGroups } from './static.js';
export type { Discoverer, DiscoveryStats, TargetGroup } from './types.js';

/** What every discoverer may be given. */
export interface DiscovererDeps {
  clock?: Clock;
  logger?: Logger;
  /** promspool's version, for the User-Agent of HTTP discovery. */
  version?: string;
}

/** A discoverer and its counters (the self-metrics read them). */
export interface CountingDiscoverer extends Discoverer {
  readonly stats: DiscoveryStats;
}

/** The discoverer of one discovery block. */
export function createDiscoverer(config: DiscoveryConfig, deps: DiscovererDeps = {}): CountingDiscoverer {
  const common = {
    ...(deps.clock === undefined ? {} : { clock: deps.clock }),
    ...(deps.logger === undefined ? {} : { logger: deps.logger }),
  };
  switch (config.kind) {
    case 'static':
      return createStaticDiscoverer(config.groups);
    case 'file':
      return createFileDiscoverer(config, common);
    case 'http':
      return createHttpDiscoverer(config, {
        ...common,
        ...(deps.version === undefined ? {} : { version: deps.version }),
      });
    case 'kubernetes': {
      const { kind: _kind, ...sd } = config;
      return createKubernetesDiscoverer(sd, common);
    }
  }
}
