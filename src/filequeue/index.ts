/**
 * The durable on-disk queue of one endpoint: segments of length-prefixed, CRC-checked records.
 * Layout and recovery rules: docs/format.md.
 */
import { DiskQueue } from './queue.js';
import type { FileQueue, FileQueueOptions } from './types.js';

export { type InspectedSegment, inspectQueueDir, type QueueDirReport } from './inspect.js';
export type {
  FileOps,
  FileQueue,
  FileQueueOptions,
  FileQueueStats,
  FsyncPolicy,
  OnDiskFull,
  Segment,
} from './types.js';

/**
 * Opens (creating if needed) the queue in `opts.dir`: recovers an `.open` segment left by a
 * stopped process (torn tail truncated, then sealed) and offers every sealed segment through
 * `next()`, oldest first. Committed segments are not read until `next()` hands them out.
 */
export async function createFileQueue(opts: FileQueueOptions): Promise<FileQueue> {
  const queue = new DiskQueue(opts);
  await queue.start();
  return queue;
}
