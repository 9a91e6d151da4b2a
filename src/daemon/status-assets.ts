/**
 * The files the status page loads from `/static/`: its own script and uPlot's JavaScript and CSS,
 * read once at startup from the installed `uplot` package (no CDN: the daemon often runs where
 * the browser reaching it has no way out either).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Logger } from '../logger.js';
import { statusClientScript } from './status-client.js';

export interface StaticAsset {
  readonly contentType: string;
  readonly body: Buffer;
}

/** URL paths of the assets, as the page links them. */
export const STATUS_ASSET_PATHS = {
  script: '/static/status.js',
  uplotScript: '/static/uplot.min.js',
  uplotStyle: '/static/uplot.min.css',
} as const;

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/**
 * Loads every asset. Without the `uplot` package (a broken install) the page still works, without
 * charts: that is logged once here, and those two paths answer 404.
 */
export function loadStatusAssets(
  logger: Logger,
  resolve: (id: string) => string = createRequire(import.meta.url).resolve,
): Map<string, StaticAsset> {
  const assets = new Map<string, StaticAsset>();
  assets.set(STATUS_ASSET_PATHS.script, { contentType: JS, body: Buffer.from(statusClientScript()) });
  const uplot: [string, string, string][] = [
    [STATUS_ASSET_PATHS.uplotScript, 'uplot/dist/uPlot.iife.min.js', JS],
    [STATUS_ASSET_PATHS.uplotStyle, 'uplot/dist/uPlot.min.css', CSS],
  ];
  for (const [path, id, contentType] of uplot) {
    try {
      assets.set(path, { contentType, body: readFileSync(resolve(id)) });
    } catch (err) {
      logger.warn('status page charts unavailable: cannot read the uplot package', { file: id, err });
    }
  }
  return assets;
}
