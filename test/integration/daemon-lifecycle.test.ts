// promspool as a daemon (the real CLI) under load: graceful SIGTERM (503 while stopping, exit 0,
// nothing acknowledged lost across the restart), reload by POST /-/reload and SIGHUP (add, change,
// remove an endpoint, invalid config), and check-config on the shipped example.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type FakeReceiver, seriesKey, startFakeReceiver } from '../helpers/fake-receiver.js';
import { buildWriteRequestV1 } from '../helpers/remote-write-client.js';
import {
  allAckedArrived,
  checkDelivery,
  type DaemonProcess,
  daemonConfigYaml,
  type LaneShape,
  laneLabels,
  laneRequest,
  makeTempDir,
  markRun,
  metricValue,
  PushLedger,
  REPO_ROOT,
  runCli,
  startDaemonProcess,
  startPushLoad,
  startSlowWrite,
  type TempDir,
  waitAllArrived,
} from './daemon-helpers.js';
import { httpRequest } from './harness/http.js';
import { waitUntil } from './harness/wait.js';

describe('daemon lifecycle under load', () => {
  const receivers: FakeReceiver[] = [];
  const daemons: DaemonProcess[] = [];
  const dirs: TempDir[] = [];

  after(async () => {
    for (const d of daemons) await d.kill9();
    for (const r of receivers) await r.close();
    for (const d of dirs) d.remove();
  });

  it('SIGTERM under load: 503 once stopping, the write in flight finishes with 204, exit 0; after a restart every 204-acknowledged sample arrives', async (t) => {
    const dir = makeTempDir('lifecycle-term');
    dirs.push(dir);
    const receiver = await startFakeReceiver();
    receivers.push(receiver);
    const LANES = 3;
    const shape: LaneShape = { metric: 'lifecycle_term', series: 20, samples: 5, t0: Date.now() - 600_000, stepMs: 10 };
    const ledger = new PushLedger(shape);
    const yaml = (port: number) =>
      daemonConfigYaml(port, {
        dataDir: join(dir.path, 'data'),
        endpoints: [{ name: 'sink', url: receiver.url }],
      });
    const daemon = await startDaemonProcess({ dir: dir.path, configYaml: yaml });
    daemons.push(daemon);

    // A write whose body arrives in two parts, from a lane of its own: it is in flight (past the
    // shutdown check, reading its body) when SIGTERM arrives, and keeps the listener open meanwhile.
    const slowLane = LANES;
    const slow = startSlowWrite(daemon.writeUrl, buildWriteRequestV1(laneRequest(shape, slowLane, 0)));
    await waitUntil(
      async () =>
        metricValue(
          (await httpRequest(`${daemon.url}/metrics`)).body.toString(),
          'promspool_receiver_requests_in_flight',
        ),
      { until: (v) => v === 1, timeoutMs: 5_000, intervalMs: 20, description: 'the slow write in flight' },
    );

    const load = startPushLoad({ url: () => daemon.writeUrl, ledger, lanes: LANES });
    await load.waitForAcked(30, 15_000);
    const logIndex = daemon.logs().length;
    daemon.signal('SIGTERM');
    await daemon.waitForLog('shutting down: refusing new writes', 5_000, logIndex);
    await load.waitForOutcome(503, 5_000);
    const ready = await httpRequest(`${daemon.url}/-/ready`);
    assert.equal(ready.status, 503, 'not ready while stopping');
    assert.equal(daemon.exitInfo, undefined, 'still running while a write is in flight');

    const slowStatus = await slow.finish();
    ledger.record(slowLane, 0, slowStatus);
    assert.equal(slowStatus, 204, 'the write in flight at SIGTERM is committed and acknowledged');
    const exit = await daemon.exited;
    await load.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, daemon.tail());
    await daemon.waitForLog('shutdown complete', 1_000, logIndex);
    const statuses = Object.fromEntries(ledger.statuses);
    assert.ok((statuses[503] ?? 0) >= 1, JSON.stringify(statuses));

    const marks = [markRun(receiver)];
    const restarted = await startDaemonProcess({ dir: dir.path, configYaml: yaml });
    daemons.push(restarted);
    await receiver.waitFor((r) => allAckedArrived(ledger, r, LANES + 1), 20_000);
    assert.deepEqual(await restarted.stop(), { code: 0, signal: null }, restarted.tail());

    const report = checkDelivery(ledger, receiver.received, LANES + 1, marks);
    t.diagnostic(
      `outcomes ${JSON.stringify(statuses)}; acknowledged ${ledger.ackedSamples} samples; received ${receiver.totalSamples}; duplicates ${report.duplicates}; delivered though unacknowledged ${report.unacknowledgedDelivered}`,
    );
    console.log(`# lifecycle SIGTERM: duplicates ${report.duplicates} of ${receiver.totalSamples} received`);
    assert.equal(report.missing, 0, report.examples.join('; '));
    assert.equal(report.wrongValues, 0);
    assert.equal(report.orderViolations, 0);
    assert.equal(report.newSampleOrderViolations, 0);
    // A graceful stop lets sends in flight finish and records their acks: nothing is sent twice.
    assert.equal(report.duplicates, 0);
  });

  it('reload under load (POST /-/reload and SIGHUP): add, change and remove an endpoint, refuse an invalid config', async (t) => {
    const dir = makeTempDir('lifecycle-reload');
    dirs.push(dir);
    const [recvA, recvB] = await Promise.all([startFakeReceiver(), startFakeReceiver()]);
    receivers.push(recvA, recvB);
    const LANES = 2;
    const shape: LaneShape = {
      metric: 'lifecycle_reload',
      series: 10,
      samples: 2,
      t0: Date.now() - 600_000,
      stepMs: 10,
    };
    const ledger = new PushLedger(shape);
    const dataDir = join(dir.path, 'data');
    const a = { name: 'a', url: recvA.url };
    const aChanged = { ...a, queueConfig: { max_samples_per_send: 7 } };
    const b = { name: 'b', url: recvB.url };
    const daemon = await startDaemonProcess({
      dir: dir.path,
      configYaml: (port) => daemonConfigYaml(port, { dataDir, endpoints: [a] }),
    });
    daemons.push(daemon);
    const writeConfig = (text: string) => writeFileSync(daemon.configPath, text);
    const reloadByPost = () => httpRequest(`${daemon.url}/-/reload`, { method: 'POST' });
    const seqsNow = () => [...load.nextSeq];

    const load = startPushLoad({ url: () => daemon.writeUrl, ledger, lanes: LANES, pauseMs: 5 });
    await load.waitForAcked(20, 10_000);

    // 1. Add endpoint b: data pushed after the reload answered reaches it; data acknowledged before the request does not.
    writeConfig(daemonConfigYaml(daemon.port, { dataDir, endpoints: [a, b] }));
    const beforeAdd = seqsNow();
    const added = await reloadByPost();
    const afterAdd = seqsNow();
    assert.equal(added.status, 200, added.body.toString());
    assert.equal(added.body.toString(), 'configuration reloaded\n');
    await load.waitForAcked(ledger.ackedRequests + 20, 10_000);
    const bWindowEnd = seqsNow();
    const bMust = ledger.subset((l, seq) => seq >= afterAdd[l] && seq < bWindowEnd[l]);
    await waitAllArrived(bMust, recvB, LANES, 10_000);

    // 2. Change endpoint a (queue_config) by SIGHUP: it restarts in place, on the same directory.
    writeConfig(daemonConfigYaml(daemon.port, { dataDir, endpoints: [aChanged, b] }));
    let logIndex = daemon.logs().length;
    daemon.signal('SIGHUP');
    await daemon.waitForLog('configuration reloaded', 10_000, logIndex);
    const aLogs = daemon
      .logs()
      .slice(logIndex)
      .filter((l) => l.endpoint === 'a' && (l.msg === 'endpoint stopped' || l.msg === 'endpoint started'));
    assert.deepEqual(
      aLogs.map((l) => [l.msg, l.dir]),
      [
        ['endpoint stopped', undefined],
        ['endpoint started', join(dataDir, 'a')],
      ],
    );
    await load.waitForAcked(ledger.ackedRequests + 20, 10_000);

    // 3. Invalid config, by POST and by SIGHUP: 400 naming the path, the running config stays.
    const invalid = daemonConfigYaml(daemon.port, { dataDir, endpoints: [aChanged, b] }).replace(
      'batch_send_deadline: 100ms',
      'batch_send_deadlin: 100ms',
    );
    writeConfig(invalid);
    const refused = await reloadByPost();
    assert.equal(refused.status, 400);
    assert.match(refused.body.toString(), /^configuration not reloaded:\n/);
    assert.match(refused.body.toString(), /remote_write\[0\]\.queue_config\.batch_send_deadlin: .*\(line \d+\)/);
    const metrics = (await httpRequest(`${daemon.url}/metrics`)).body.toString();
    assert.equal(metricValue(metrics, 'promspool_config_last_reload_successful'), 0);
    logIndex = daemon.logs().length;
    daemon.signal('SIGHUP');
    const logged = await daemon.waitForLog('invalid configuration, keeping the running one', 10_000, logIndex);
    assert.match(String(logged.error), /remote_write\[0\]\.queue_config\.batch_send_deadlin/);
    const beforeInvalidCheck = seqsNow();
    await load.waitForAcked(ledger.ackedRequests + 20, 10_000);
    const afterInvalidCheck = seqsNow();
    // Both endpoints still run: b still gets new data.
    await recvB.waitFor(
      (r) =>
        allAckedArrived(
          ledger.subset((l, seq) => seq >= beforeInvalidCheck[l] && seq < afterInvalidCheck[l]),
          r,
          LANES,
        ),
      10_000,
    );

    // 4. Remove endpoint b by POST: it gets nothing pushed after the reload; its directory stays.
    writeConfig(daemonConfigYaml(daemon.port, { dataDir, endpoints: [aChanged] }));
    const removed = await reloadByPost();
    const afterRemove = seqsNow();
    assert.equal(removed.status, 200, removed.body.toString());
    assert.equal(existsSync(join(dataDir, 'b')), true, 'the removed endpoint keeps its directory');
    assert.equal(
      metricValue(
        (await httpRequest(`${daemon.url}/metrics`)).body.toString(),
        'promspool_config_last_reload_successful',
      ),
      1,
    );
    await load.waitForAcked(ledger.ackedRequests + 20, 10_000);

    await load.stop();
    await waitAllArrived(ledger, recvA, LANES, 20_000);
    assert.deepEqual(await daemon.stop(), { code: 0, signal: null }, daemon.tail());

    // a: everything acknowledged, in order for new data, values exact.
    const reportA = checkDelivery(ledger, recvA.received, LANES);
    assert.equal(reportA.missing, 0, reportA.examples.join('; '));
    assert.equal(reportA.wrongValues, 0);
    assert.equal(reportA.newSampleOrderViolations, 0);
    // b: nothing acknowledged before the add was requested, nothing pushed after the removal.
    let outsideWindow = 0;
    for (let l = 0; l < LANES; l++) {
      for (let s = 0; s < shape.series; s++) {
        for (const x of recvB.received.get(seriesKey(laneLabels(shape, l, s))) ?? []) {
          const seq = Math.floor(Math.round((x.ts - shape.t0) / shape.stepMs) / shape.samples);
          if (seq < beforeAdd[l] - 1 || seq >= afterRemove[l]) outsideWindow++;
        }
      }
    }
    assert.equal(outsideWindow, 0, 'b holds only data pushed while it was configured');
    const reportB = checkDelivery(bMust, recvB.received, LANES);
    assert.equal(reportB.wrongValues, 0);
    assert.equal(reportB.newSampleOrderViolations, 0);
    t.diagnostic(
      `acknowledged ${ledger.ackedSamples} samples (${JSON.stringify(Object.fromEntries(ledger.statuses))}); a received ${recvA.totalSamples} (duplicates ${reportA.duplicates}), b received ${recvB.totalSamples} (duplicates ${reportB.duplicates})`,
    );
    console.log(`# lifecycle reload: duplicates a=${reportA.duplicates} b=${reportB.duplicates}`);
  });

  it('check-config on promspool.example.yaml exits 0', async () => {
    const file = join(REPO_ROOT, 'promspool.example.yaml');
    const res = await runCli(['check-config', file], REPO_ROOT);
    assert.deepEqual(
      { code: res.code, signal: res.signal, stdout: res.stdout },
      { code: 0, signal: null, stdout: `${file}: OK\n` },
      res.stderr,
    );
  });
});
