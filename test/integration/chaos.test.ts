// The chaos proof: the real daemon under continuous remote-write load for CHAOS_SECONDS (60 by
// default, PROMSPOOL_CHAOS_SECONDS for longer) while the receiver it forwards to flaps at random
// (seeded, PROMSPOOL_CHAOS_SEED): 500s, 429 with Retry-After: 1, connection resets, 5 s stalls
// (remote_timeout 2 s) and healthy periods. Afterwards, with the receiver healthy: every
// acknowledged sample arrived exactly once, in order per series, and the daemon's RSS at the end
// of the chaos is within 20% of its value at the start (memory does not grow with the backlog).
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type Behaviour, type FakeReceiver, startFakeReceiver } from '../helpers/fake-receiver.js';
import {
  allAckedPresent,
  compareDelivery,
  type DaemonProcess,
  daemonConfigYaml,
  delay,
  fakeReceiverView,
  formatReport,
  intFromEnv,
  Pusher,
  SeededRandom,
  seedFromEnv,
  startDaemonProcess,
} from './crash-helpers.js';
import { httpRequest } from './harness/http.js';
import { freePort } from './harness/ports.js';

const CHAOS_SECONDS = intFromEnv('PROMSPOOL_CHAOS_SECONDS', 60);
const WARM_UP_SECONDS = 10;
const SEED = seedFromEnv('PROMSPOOL_CHAOS_SEED');

type Fault = 'healthy' | '500' | '429' | 'reset' | 'stall';

/** What the receiver answers in each kind of period. A stall answers nothing and resets after 5 s. */
const BEHAVIOUR: Record<Fault, Behaviour> = {
  healthy: { status: 204 },
  '500': { status: 500, body: 'chaos: internal error' },
  '429': { status: 429, headers: { 'Retry-After': '1' }, body: 'chaos: slow down' },
  reset: { reset: true },
  stall: { delayMs: 5000, reset: true },
};

/**
 * The next fault: periods are drawn from shuffled bags holding every fault once and "healthy"
 * twice, so any seed exercises every fault within six periods and is healthy a third of the time.
 */
function faultSequence(rng: SeededRandom): () => Fault {
  let bag: Fault[] = [];
  return () => {
    if (bag.length === 0) {
      bag = ['healthy', 'healthy', '500', '429', 'reset', 'stall'];
      for (let i = bag.length - 1; i > 0; i--) {
        const j = rng.range(0, i);
        [bag[i], bag[j]] = [bag[j]!, bag[i]!];
      }
    }
    return bag.pop()!;
  };
}

describe('chaos: a flapping receiver under continuous load', () => {
  let fake: FakeReceiver | undefined;
  let daemon: DaemonProcess | undefined;
  let pusher: Pusher | undefined;
  let dir: string | undefined;
  let rssTimer: NodeJS.Timeout | undefined;

  after(async () => {
    clearInterval(rssTimer);
    await pusher?.stop();
    await daemon?.kill9();
    await fake?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(`${CHAOS_SECONDS} s of 500/429/reset/stall/healthy: nothing lost, no duplicate, order kept, RSS flat`, {
    timeout: (CHAOS_SECONDS + WARM_UP_SECONDS + 100) * 1000,
  }, async () => {
    console.log(`# chaos: seed=${SEED} seconds=${CHAOS_SECONDS} (replay with PROMSPOOL_CHAOS_SEED=${SEED})`);
    const rng = new SeededRandom(SEED);
    fake = await startFakeReceiver();
    let fault: Fault = 'healthy';
    const answered: Record<Fault, number> = { healthy: 0, '500': 0, '429': 0, reset: 0, stall: 0 };
    fake.script(() => {
      answered[fault]++;
      return BEHAVIOUR[fault];
    });

    dir = await mkdtemp(join(tmpdir(), 'promspool-chaos-'));
    const port = await freePort();
    const configPath = join(dir, 'promspool.yaml');
    await writeFile(
      configPath,
      daemonConfigYaml({
        port,
        dataDir: join(dir, 'data'),
        endpoints: [{ name: 'flappy', url: fake.url }],
        batchInterval: '500ms',
        maxSignalsToBatch: 5000,
        remoteTimeout: '2s',
        queueConfig: {
          max_samples_per_send: 1000,
          batch_send_deadline: '200ms',
          min_backoff: '50ms',
          max_backoff: '1s',
        },
      }),
    );
    daemon = await startDaemonProcess(configPath, port);
    const rss: number[] = [];
    // Beside RSS, what explains it: shards running, V8 heap used, memory outside the heap (buffers).
    const shards: string[] = [];
    const heapMiB: string[] = [];
    const externalMiB: string[] = [];
    const sampleRss = () => {
      rss.push(daemon!.rssKiB());
      httpRequest(`${daemon!.url}/metrics`, { timeoutMs: 900 }).then(
        (res) => {
          const text = res.body.toString('utf8');
          const metric = (re: RegExp) => Number(re.exec(text)?.[1] ?? Number.NaN);
          shards.push(String(metric(/^prometheus_remote_storage_shards\{[^}]*\} (\S+)$/m)));
          heapMiB.push((metric(/^nodejs_heap_size_used_bytes (\S+)$/m) / 2 ** 20).toFixed(1));
          externalMiB.push((metric(/^nodejs_external_memory_bytes (\S+)$/m) / 2 ** 20).toFixed(1));
        },
        () => shards.push('?'),
      );
    };
    sampleRss();
    rssTimer = setInterval(sampleRss, 1000);

    pusher = new Pusher({
      url: `${daemon.url}/api/v1/write`,
      workers: 2,
      seriesPerWorker: 50,
      samplesPerSeries: 5,
      intervalMs: 100,
      retryMs: 50,
      baseTimestampMs: Math.floor((Date.now() - 20 * 60_000) / 1000) * 1000,
      stepMs: 10,
    });
    pusher.start();
    await delay(WARM_UP_SECONDS * 1000);

    // The chaos: seeded periods of 0.5-4 s each.
    const chaosStartIndex = rss.length;
    sampleRss();
    const rssStart = rss[chaosStartIndex]!;
    const chaosStarted = Date.now();
    const chaosEnd = chaosStarted + CHAOS_SECONDS * 1000;
    const periods: string[] = [];
    const timeIn: Record<Fault, number> = { healthy: 0, '500': 0, '429': 0, reset: 0, stall: 0 };
    const nextFault = faultSequence(rng);
    while (Date.now() < chaosEnd) {
      fault = nextFault();
      const ms = Math.min(rng.range(500, 4000), chaosEnd - Date.now());
      periods.push(`${fault}:${ms}`);
      timeIn[fault] += ms;
      await delay(ms);
    }
    fault = 'healthy';
    sampleRss();
    const chaosRss = rss.slice(chaosStartIndex);
    const rssEnd = chaosRss.at(-1)!;
    const rssPeak = Math.max(...chaosRss);
    const ackedDuringChaos = pusher.stats.samplesAcked;

    await delay(1000);
    await pusher.stop();
    assert.deepEqual(pusher.stats.rejected, [], 'the daemon refused a valid request');
    const ledger = pusher.ledger;
    const drainStarted = Date.now();
    await fake
      .waitFor(() => allAckedPresent(ledger, fakeReceiverView(fake!.received)), 60_000)
      .catch((err) => {
        const r = compareDelivery(ledger, fakeReceiverView(fake!.received), true);
        throw new Error(`${err.message}\n${formatReport('fake', r)} ${r.examplesMissing}\n${daemon!.logTail()}`);
      });
    const drainMs = Date.now() - drainStarted;
    clearInterval(rssTimer);
    const code = await daemon.stop();
    assert.equal(code, 0, `daemon exit code after SIGTERM\n${daemon.logTail()}`);

    const report = compareDelivery(ledger, fakeReceiverView(fake.received), true);
    const mib = (kib: number) => (kib / 1024).toFixed(1);
    console.log(`# chaos periods: ${periods.join(' ')}`);
    console.log(
      `# chaos time per kind (ms): ${JSON.stringify(timeIn)}; requests answered per kind: ${JSON.stringify(answered)}`,
    );
    console.log(`# chaos RSS MiB per second (from daemon start): ${rss.map(mib).join(' ')}`);
    console.log(`# chaos shards per second: ${shards.join(' ')}`);
    console.log(`# chaos V8 heap used MiB per second: ${heapMiB.join(' ')}`);
    console.log(`# chaos external memory MiB per second: ${externalMiB.join(' ')}`);
    console.log(`# ${formatReport('fake receiver', report)}`);
    console.log(
      `# chaos summary: seed=${SEED} seconds=${CHAOS_SECONDS} samples_acknowledged=${report.acked} ` +
        `acknowledged_during_chaos=${ackedDuringChaos} lost=${report.missing} duplicates=${report.duplicates} ` +
        `order_violations=${report.orderViolations} rss_start_mib=${mib(rssStart)} rss_end_mib=${mib(rssEnd)} ` +
        `rss_peak_mib=${mib(rssPeak)} drain_ms=${drainMs}`,
    );

    for (const kind of ['healthy', '500', '429', 'reset', 'stall'] as const) {
      assert.ok(answered[kind] > 0, `no request got a ${kind} answer: ${JSON.stringify(answered)}`);
    }
    assert.equal(report.missing, 0, `acknowledged samples lost: ${report.examplesMissing.join(', ')}`);
    assert.equal(report.unexpected, 0, `samples never sent: ${report.examplesUnexpected.join(', ')}`);
    assert.equal(report.orderViolations, 0, 'order violations per series');
    // No crash and no receiver that stores and then fails: nothing is ever sent twice.
    assert.equal(report.duplicates, 0, 'duplicates without a crash');
    assert.ok(
      Math.abs(rssEnd - rssStart) <= 0.2 * rssStart,
      `RSS at the end of the chaos ${mib(rssEnd)} MiB vs ${mib(rssStart)} MiB at its start (more than 20% apart)`,
    );
  });
});
