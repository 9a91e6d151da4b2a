/**
 * Names of the queue's files: `<id>.<kind>` with `id` a decimal integer zero-padded to 16 digits,
 * so a plain name sort is also the id order (16 digits hold every safe integer). Names with fewer
 * digits are still recognised, so the padding is a convenience, never a requirement.
 */
import { join } from 'node:path';

export type QueueFileKind = 'open' | 'committed' | 'acks' | 'corrupt';

const ID_DIGITS = 16;
const NAME_PATTERN = /^(\d{1,16})\.(open|committed|acks|corrupt)$/;

export interface QueueFileName {
  id: number;
  kind: QueueFileKind;
}

export function queueFileName(id: number, kind: QueueFileKind): string {
  return `${String(id).padStart(ID_DIGITS, '0')}.${kind}`;
}

export function queueFilePath(dir: string, id: number, kind: QueueFileKind): string {
  return join(dir, queueFileName(id, kind));
}

/** The id and kind of one of the queue's own files, or `undefined` for a foreign file. */
export function parseQueueFileName(name: string): QueueFileName | undefined {
  const m = NAME_PATTERN.exec(name);
  if (!m) return undefined;
  const id = Number(m[1]);
  if (!Number.isSafeInteger(id)) return undefined;
  return { id, kind: m[2] as QueueFileKind };
}
