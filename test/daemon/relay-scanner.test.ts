/**
 * The relay scanner: the same answers from a worker thread as from the event loop, the caller's
 * buffer left intact, errors with their codes, and no request lost when a worker dies.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { compressSync } from 'snappy';
import type { RelayScan } from '../../src/daemon/relay-scan.js';
import { createRelayScanner, type RelayScanner } from '../../src/daemon/relay-scanner.js';
import { PromspoolError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import { decodeRawRecord, ingestRelabelOf } from '../../src/serialization/raw-record.js';
import { uncompressBlock } from '../../src/wire/snappy.js';
import { planOf } from '../relay/ingest-relabel-helpers.js';
import { type TestSeries, TWO_SERIES, writeRequestV1 } from './rw-bodies.js';

const MAX = 32 * 1024 * 1024;

/** A logger that keeps its error lines. */
function recordingLogger(): Logger & { errors: string[] } {
  const errors: string[] = [];
  const log = {
    errors,
    error: (msg: string) => {
      errors.push(msg);
    },
    warn: () => {},
    info: () => {},
    debug: () => {},
    child: () => log,
  };
  return log as unknown as Logger & { errors: string[] };
}

function scanner(workers: number, workerUrl?: URL): RelayScanner & { log: ReturnType<typeof recordingLogger> } {
  const log = recordingLogger();
  const s = createRelayScanner({
    workers,
    uncompress: uncompressBlock,
    logger: log,
    ...(workerUrl ? { workerUrl } : {}),
  });
  return Object.assign(s, { log });
}

/** Series `i` of a body: its own metric name, so answers cannot be swapped unnoticed. */
function body(i: number): Buffer {
  const series: TestSeries[] = [
    {
      labels: [
        ['__name__', `m_${i}`],
        ['job', 'x'],
      ],
      samples: [[1000 + i, i]],
    },
  ];
  return compressSync(writeRequestV1(series));
}

function plain(scan: RelayScan): { kind: string; bytes: number[]; samples?: number } {
  return scan.kind === 'record'
    ? { kind: scan.kind, bytes: [...scan.payload], samples: scan.samples }
    : { kind: scan.kind, bytes: [...scan.body] };
}

describe('relay scanner', () => {
  const open: RelayScanner[] = [];
  const make = (workers: number, url?: URL) => {
    const s = scanner(workers, url);
    open.push(s);
    return s;
  };
  after(() => Promise.all(open.map((s) => s.close())));

  test('a worker answers exactly what the event loop does, and leaves the caller its buffer', async () => {
    const here = make(0);
    const threaded = make(1);
    assert.equal(threaded.workers, 0, 'no worker before the first scan');
    const accepted = compressSync(writeRequestV1(TWO_SERIES));
    const unsorted = compressSync(
      writeRequestV1([
        {
          labels: [
            ['job', 'x'],
            ['__name__', 'up'],
          ],
          samples: [[1, 1]],
        },
      ]),
    );
    for (const b of [accepted, unsorted]) {
      const copy = Buffer.from(b);
      const want = plain(await here.scan(b, MAX));
      const got = plain(await threaded.scan(b, MAX));
      assert.deepEqual(got, want);
      assert.deepEqual(b, copy, 'the caller still has its bytes');
    }
    assert.equal(plain(await threaded.scan(accepted, MAX)).kind, 'record');
    assert.equal(threaded.workers, 1);
    const decoded = await threaded.scan(unsorted, MAX);
    assert.equal(decoded.kind, 'decode');
    assert.deepEqual(decoded.kind === 'decode' ? [...decoded.body] : [], [...uncompressBlock(unsorted, MAX)]);
  });

  test('write relabel rules at ingest: a worker relabels as the event loop does, sent the rules once, a new rule set when it changes', async () => {
    const here = make(0);
    const threaded = make(1);
    const drop = planOf([{ source_labels: ['__name__'], regex: 'm_[0-4]', action: 'drop' }]);
    const add = planOf([{ target_label: 'relayed_by', replacement: 'agent' }]);
    for (const plan of [drop, add, drop]) {
      for (let i = 0; i < 10; i++) {
        const want = await here.scan(body(i), MAX, 4, plan);
        const got = await threaded.scan(body(i), MAX, 4, plan);
        assert.deepEqual(plain(got), plain(want), `body ${i}`);
        assert.equal(got.kind, 'record');
        if (got.kind !== 'record') continue;
        const mark = ingestRelabelOf(decodeRawRecord(got.payload));
        assert.equal(mark?.digest, plan.digest);
        assert.equal(got.received, 1);
        assert.equal(got.samples, plan === drop && i < 5 ? 0 : 1);
      }
    }
    // Without a plan the record is unmarked, as before.
    const unmarked = await threaded.scan(body(1), MAX, 4);
    assert.equal(unmarked.kind === 'record' ? ingestRelabelOf(decodeRawRecord(unmarked.payload)) : 'decode', undefined);
  });

  test('bad bodies reject with the same PromspoolError codes as on the event loop', async () => {
    for (const s of [make(0), make(1)]) {
      await assert.rejects(s.scan(Buffer.from([0x0a, 0x01, 0xff]), MAX), (err: unknown) => {
        assert.ok(err instanceof PromspoolError);
        assert.equal(err.code, 'ERR_BAD_SNAPPY');
        return true;
      });
      await assert.rejects(s.scan(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x01, 0x00]), MAX), (err: unknown) => {
        assert.ok(err instanceof PromspoolError);
        assert.equal(err.code, 'ERR_BODY_TOO_LARGE');
        return true;
      });
    }
  });

  test('200 scans in flight at once each get their own answer', async () => {
    const s = make(1);
    const here = make(0);
    const bodies = Array.from({ length: 200 }, (_x, i) => body(i));
    const got = await Promise.all(bodies.map((b) => s.scan(b, MAX)));
    for (let i = 0; i < bodies.length; i++) assert.deepEqual(plain(got[i]), plain(await here.scan(bodies[i], MAX)));
  });

  test('bodies of every size one after another, through the buffers the worker hands back, answer as on the event loop', async () => {
    const s = make(1);
    const here = make(0);
    // Hard-to-compress values, so compressed sizes run from ~60 bytes past the 1 MiB the pool keeps.
    const sized = (series: number, seed: number) => {
      let x = seed;
      const noise = () => {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        return x.toString(36);
      };
      const all: TestSeries[] = [];
      for (let i = 0; i < series; i++) {
        all.push({
          labels: [
            ['__name__', `m_${seed}`],
            ['id', `${noise()}${noise()}${noise()}${noise()}${noise()}${noise()}`],
          ],
          samples: [[i, i]],
        });
      }
      return compressSync(writeRequestV1(all));
    };
    const bodies = [1, 500, 1, 30_000, 20, 5, 30_000, 2_000, 1].map((n, k) => sized(n, k + 1));
    assert.ok(bodies.some((b) => b.length > 1024 * 1024));
    for (const b of bodies) assert.deepEqual(plain(await s.scan(b, MAX)), plain(await here.scan(b, MAX)));
  });

  test('when a worker dies, its pending scans finish on the event loop, and so do later ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'promspool-scan-worker-'));
    try {
      const crashing = join(dir, 'crash.mjs');
      writeFileSync(
        crashing,
        "import { parentPort } from 'node:worker_threads';\nparentPort.on('message', () => process.exit(3));\n",
      );
      const s = make(1, pathToFileURL(crashing));
      const here = make(0);
      const bodies = Array.from({ length: 5 }, (_x, i) => body(i));
      const got = await Promise.all(bodies.map((b) => s.scan(b, MAX)));
      for (let i = 0; i < bodies.length; i++) assert.deepEqual(plain(got[i]), plain(await here.scan(bodies[i], MAX)));
      assert.equal(s.workers, 0);
      assert.equal(s.log.errors.length, 1, 'one error, not one per request');
      assert.match(s.log.errors[0], /relay scan worker failed/);
      assert.equal(plain(await s.scan(body(9), MAX)).kind, 'record');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("records are written into released records' buffers, never into one the caller still holds", async () => {
    const s = make(1);
    const here = make(0);
    const want = async (i: number) => plain(await here.scan(body(i), MAX));
    const held = await s.scan(body(0), MAX);
    assert.equal(held.kind, 'record');
    const heldPayload = held.kind === 'record' ? held.payload : new Uint8Array(0);
    // A record at the start of a pool buffer of its own (64 KiB at the least), moved from the worker.
    assert.equal(heldPayload.byteOffset, 0);
    assert.equal(heldPayload.buffer.byteLength, 64 * 1024);
    let released: Uint8Array | undefined;
    for (let i = 1; i <= 20; i++) {
      const got = await s.scan(body(i), MAX);
      if (released !== undefined)
        assert.equal(released.buffer.byteLength, 0, 'a released buffer carried the next body to the worker');
      assert.deepEqual(plain(got), await want(i), `record ${i}`);
      released = got.kind === 'record' ? got.payload : undefined;
      if (released !== undefined) s.release(released);
    }
    assert.deepEqual(plain(held), await want(0), 'the held record is intact after 20 records were written');
    // Released twice, and a payload the scanner never gave: ignored.
    s.release(heldPayload);
    s.release(heldPayload);
    s.release(new Uint8Array(100));
    const together = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => s.scan(body(100 + i), MAX)));
    for (let i = 0; i < together.length; i++) assert.deepEqual(plain(together[i]), await want(101 + i));
    assert.equal(s.log.errors.length, 0);
  });

  test('close stops the workers without an error; scans after it run on the event loop', async () => {
    const s = make(1);
    await s.scan(body(0), MAX);
    assert.equal(s.workers, 1);
    await s.close();
    assert.equal(s.workers, 0);
    assert.equal(s.log.errors.length, 0);
    assert.equal(plain(await s.scan(body(1), MAX)).kind, 'record');
  });
});
