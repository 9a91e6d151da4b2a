/**
 * List + watch of one resource in one namespace (or the whole cluster), keeping a store of the
 * objects as client-go's reflector does: list, then watch from the list's resourceVersion;
 * a watch the server ends is resumed from the last version seen (bookmarks included); a 410 Gone
 * (as the HTTP status or as an ERROR event) means that version is too old, so list again; any other
 * failure is logged and counted and retried after an exponential backoff, the store kept as it was.
 */
import { type Clock, sleep } from '../../clock.js';
import type { Logger } from '../../logger.js';
import { type ApiClient, ApiStatusError, type WatchEvent } from './api-client.js';
import { type KubeObject, objectKey } from './objects.js';

/** First retry delay after a failure; doubled up to {@link MAX_BACKOFF_MS} (client-go uses 800 ms to 30 s). */
export const INITIAL_BACKOFF_MS = 1_000;
export const MAX_BACKOFF_MS = 30_000;

/** A change of one object: `object` undefined when it was deleted. */
export interface ObjectChange {
  key: string;
  old: KubeObject | undefined;
  object: KubeObject | undefined;
}

/** The server's "resource version too old": list again. */
class GoneError extends Error {}

/** What an {@link Informer} watches and whom it tells. */
export interface InformerOptions {
  /** API path of the collection, e.g. `/api/v1/namespaces/default/pods`. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** The client, created on first use (its creation may fail, e.g. a missing token: retried like any failure). */
  client: () => ApiClient;
  clock: Clock;
  logger: Logger;
  /** Changes of a list (against the store) or of one watch event; called after the store is updated. */
  onChange: (changes: ObjectChange[]) => void;
  /** A list or watch failed. */
  onFailure: () => void;
  /** Watch requests ask the server to end after this many seconds (then the watch resumes). */
  watchTimeoutSeconds?: number;
}

/** One resource's list + watch loop and its store. */
export class Informer {
  /** The objects by `namespace/name` (or `name`). */
  readonly store = new Map<string, KubeObject>();
  /** Resolves once the first list is in the store. */
  readonly synced: Promise<void>;
  private markSynced!: () => void;

  constructor(private readonly opts: InformerOptions) {
    this.synced = new Promise((resolve) => {
      this.markSynced = resolve;
    });
  }

  /** Runs until `signal` aborts; never rejects. */
  async run(signal: AbortSignal): Promise<void> {
    const { opts } = this;
    const selectors: Record<string, string> = {};
    if (opts.labelSelector !== undefined && opts.labelSelector !== '') selectors.labelSelector = opts.labelSelector;
    if (opts.fieldSelector !== undefined && opts.fieldSelector !== '') selectors.fieldSelector = opts.fieldSelector;
    let resourceVersion: string | undefined;
    let backoff = INITIAL_BACKOFF_MS;
    while (!signal.aborted) {
      try {
        const client = opts.client();
        if (resourceVersion === undefined) {
          const list = await client.list(opts.path, selectors, signal);
          resourceVersion = list.resourceVersion;
          this.replace(list.items);
          this.markSynced();
          backoff = INITIAL_BACKOFF_MS;
        }
        const query: Record<string, string> = {
          ...selectors,
          resourceVersion,
          allowWatchBookmarks: 'true',
          timeoutSeconds: String(opts.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 300)),
        };
        let events = 0;
        await client.watch(opts.path, query, signal, (e) => {
          resourceVersion = this.apply(e) ?? resourceVersion;
          backoff = INITIAL_BACKOFF_MS;
          events++;
        });
        // The server ended the watch (its timeout): resume from the last version seen. A watch
        // that ended without a single event (not even a bookmark, which servers send about every
        // minute) was cut short: wait before the next one, so such a server is not hammered.
        if (events === 0) {
          opts.logger.debug('kubernetes discovery: watch ended without events; waiting before the next', {
            path: opts.path,
            waitMs: backoff,
          });
          await sleep(opts.clock, backoff, signal);
          backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        }
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof GoneError || (err instanceof ApiStatusError && err.status === 410)) {
          opts.logger.info('kubernetes discovery: resource version too old, listing again', {
            path: opts.path,
            resourceVersion,
          });
          resourceVersion = undefined;
          continue;
        }
        opts.onFailure();
        opts.logger.warn('kubernetes discovery: list or watch failed; keeping the last targets and retrying', {
          path: opts.path,
          err: (err as Error).message,
          retryInMs: backoff,
        });
        try {
          await sleep(opts.clock, backoff, signal);
        } catch {
          break;
        }
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  }

  /** A fresh list replaces the store: what changed, appeared or vanished is reported. */
  private replace(items: KubeObject[]): void {
    const changes: ObjectChange[] = [];
    const seen = new Set<string>();
    for (const object of items.map(trim)) {
      const key = objectKey(object);
      seen.add(key);
      const old = this.store.get(key);
      this.store.set(key, object);
      if (old === undefined || old.metadata?.resourceVersion !== object.metadata?.resourceVersion) {
        changes.push({ key, old, object });
      }
    }
    for (const [key, old] of this.store) {
      if (seen.has(key)) continue;
      this.store.delete(key);
      changes.push({ key, old, object: undefined });
    }
    this.opts.onChange(changes);
  }

  /** Applies one watch event; returns the resource version it carries. */
  private apply(e: WatchEvent): string | undefined {
    switch (e.type) {
      case 'ADDED':
      case 'MODIFIED': {
        const object = trim(e.object);
        const key = objectKey(object);
        const old = this.store.get(key);
        this.store.set(key, object);
        this.opts.onChange([{ key, old, object }]);
        return e.object.metadata?.resourceVersion;
      }
      case 'DELETED': {
        const key = objectKey(e.object);
        const old = this.store.get(key);
        this.store.delete(key);
        if (old !== undefined) this.opts.onChange([{ key, old, object: undefined }]);
        return e.object.metadata?.resourceVersion;
      }
      case 'BOOKMARK':
        return e.object.metadata?.resourceVersion;
      case 'ERROR':
        if (e.object.code === 410) throw new GoneError(e.object.message ?? 'resource version too old');
        throw new Error(`watch ${this.opts.path}: error event: ${e.object.code ?? ''} ${e.object.message ?? ''}`);
      default:
        throw new Error(`watch ${this.opts.path}: unknown event type ${JSON.stringify((e as { type: unknown }).type)}`);
    }
  }
}

/**
 * Drops `metadata.managedFields` (server-side apply bookkeeping, often the largest part of an
 * object and never a label) so the stores of a large cluster hold less.
 */
function trim(o: KubeObject): KubeObject {
  const meta = o.metadata as (KubeObject['metadata'] & { managedFields?: unknown }) | undefined;
  if (meta?.managedFields !== undefined) delete meta.managedFields;
  return o;
}
