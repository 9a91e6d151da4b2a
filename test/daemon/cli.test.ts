import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type CliIo, main, parseCliArgs, UsageError } from '../../src/daemon/cli.js';
import type { Daemon } from '../../src/daemon/daemon.js';
import { createFileQueue } from '../../src/filequeue/index.js';
import { encodeRecord, type SignalRecord } from '../../src/serialization/index.js';
import { FakeQueue } from './fake-queue.js';
import { httpRequest } from './http-client.js';
import { testConfigYaml } from './test-config.js';

// dist/test/daemon/cli.test.js -> repository root
const ROOT = new URL('../../../', import.meta.url).pathname;
const BIN = join(ROOT, 'bin', 'promspool.js');

function cli(args: string[], cwd = ROOT) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('parseCliArgs', () => {
  test('run with defaults and with every option', () => {
    assert.deepEqual(parseCliArgs([]), { kind: 'run', configFile: undefined, logLevel: 'info', logFormat: 'logfmt' });
    assert.deepEqual(parseCliArgs(['--config', 'a.yaml', '--log.level', 'debug', '--log.format', 'json']), {
      kind: 'run',
      configFile: 'a.yaml',
      logLevel: 'debug',
      logFormat: 'json',
    });
    assert.deepEqual(parseCliArgs(['-c', 'b.yaml']), {
      kind: 'run',
      configFile: 'b.yaml',
      logLevel: 'info',
      logFormat: 'logfmt',
    });
    assert.deepEqual(parseCliArgs(['--config=c.yaml']).kind, 'run');
  });

  test('subcommands', () => {
    assert.deepEqual(parseCliArgs(['check-config', 'a.yaml', 'b.yaml']), {
      kind: 'check-config',
      files: ['a.yaml', 'b.yaml'],
    });
    assert.deepEqual(parseCliArgs(['inspect', './data']), { kind: 'inspect', dir: './data' });
    assert.deepEqual(parseCliArgs(['--version']), { kind: 'version' });
    assert.deepEqual(parseCliArgs(['-h']), { kind: 'help' });
  });

  test('usage errors', () => {
    for (const argv of [
      ['--bogus'],
      ['--config'],
      ['--log.level', 'verbose'],
      ['--log.format', 'xml'],
      ['check-config'],
      ['inspect'],
      ['inspect', 'a', 'b'],
      ['frobnicate'],
      ['check-config', '--config', 'x', 'y'],
    ]) {
      assert.throws(() => parseCliArgs(argv), UsageError, argv.join(' '));
    }
  });
});

/** Two series: `a{}` with samples at T and T+15s, `b{}` with one at T+5s. */
function twoSeriesRecord(): SignalRecord {
  const T = 1_700_000_000_000;
  return {
    strings: ['__name__', 'a', 'b'],
    seriesCount: 2,
    labelOffsets: Uint32Array.from([0, 1, 2]),
    labelRefs: Uint32Array.from([0, 1, 0, 2]),
    seriesHash: Uint32Array.from([1, 2]),
    sampleOffsets: Uint32Array.from([0, 2, 3]),
    timestamps: Float64Array.from([T, T + 15_000, T + 5_000]),
    values: Float64Array.from([1, 2, 3]),
    histogramOffsets: new Uint32Array(3),
    histograms: [],
    exemplarOffsets: new Uint32Array(3),
    exemplars: [],
    metadata: [],
  };
}

describe('promspool binary', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'promspool-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('check-config on a valid file: exit 0 and "FILE: OK"', () => {
    const file = join(dir, 'good.yaml');
    writeFileSync(file, testConfigYaml());
    const r = cli(['check-config', file]);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, `${file}: OK\n`);
    assert.equal(r.code, 0);
  });

  test('check-config on an invalid file: exit 1 and every error with its path and line', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      `${testConfigYaml()}    queue_config:\n      max_shards: -1\n`.replace(
        'shutdown_timeout: 5s',
        'shutdown_timout: 5s',
      ),
    );
    const r = cli(['check-config', file]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines[0], `${file}: 2 errors`);
    assert.match(lines[1], /^ {2}server\.shutdown_timout: .*did you mean "shutdown_timeout".*\(line 3\)$/);
    assert.match(lines[2], /^ {2}remote_write\[0\]\.queue_config\.max_shards: .*\(line 14\)$/);
  });

  test('check-config on a missing file: exit 1', () => {
    const r = cli(['check-config', join(dir, 'missing.yaml')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot read/);
  });

  test('--version and --help exit 0', () => {
    const v = cli(['--version']);
    assert.equal(v.code, 0);
    assert.match(v.stdout, /^promspool \d+\.\d+\.\d+ \(node v\d+/);
    const h = cli(['--help']);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /^Usage:\n {2}promspool \[--config FILE\]/);
  });

  test('unknown flag: clear error and exit 2', () => {
    const r = cli(['--listen', ':1']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^promspool: Unknown option '--listen'.*\nRun 'promspool --help' for usage\.\n$/s);
  });

  test('an invalid --config file: exit 1 with the errors logged', () => {
    const file = join(dir, 'bad2.yaml');
    writeFileSync(file, 'server: [\n');
    const r = cli(['--config', file, '--log.format', 'json']);
    assert.equal(r.code, 1);
    const lines = r.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.at(-1).level, 'error');
    assert.equal(lines.at(-1).msg, 'invalid configuration');
    assert.match(lines.at(-1).error, /YAML syntax error/);
  });

  test('inspect prints each endpoint directory with segments, records and acks', async () => {
    const data = join(dir, 'data');
    mkdirSync(join(data, 'primary'), { recursive: true });
    const fq = await createFileQueue({
      dir: join(data, 'primary'),
      maxSignalsPerSegment: 1000,
      batchIntervalMs: 60_000,
      fsync: 'never',
      fsyncIntervalMs: 1000,
      maxDiskBytes: 0,
      onDiskFull: 'reject',
    });
    await fq.append(encodeRecord(twoSeriesRecord()), 3);
    await fq.append(Buffer.from('not a record'), 1);
    await fq.seal();
    await fq.close();
    const r = cli(['inspect', data]);
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(
      lines[0],
      new RegExp(`^${join(data, 'primary')}: 1 segment, 2 records, 3 signals, 1 corrupt, \\d+ B$`),
    );
    assert.match(
      lines[1],
      /^ +\d+ committed +\d+ B {2}records=2 signals=3 corrupt=1 acked_portions=0 time=2023-11-14T22:13:20\.000Z\.\.2023-11-14T22:13:35\.000Z format=v1$/,
    );
    assert.equal(lines.length, 2);
  });

  test('inspect of a missing directory: exit 1', () => {
    const r = cli(['inspect', join(dir, 'nope')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^promspool inspect: ENOENT/);
  });
});

describe('main() running the daemon in-process', () => {
  test('uses ./promspool.yaml, reloads on SIGHUP, stops on SIGTERM with exit 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'promspool-main-'));
    try {
      writeFileSync(join(dir, 'promspool.yaml'), testConfigYaml());
      const queue = new FakeQueue();
      const handlers = new Map<string, () => void>();
      const logs: string[] = [];
      let started!: (d: Daemon) => void;
      const daemonStarted = new Promise<Daemon>((r) => {
        started = r;
      });
      const exits: number[] = [];
      const io: Partial<CliIo> = {
        cwd: dir,
        stderr: (t) => logs.push(t),
        onSignal: (signal, handler) => {
          handlers.set(signal, handler);
          return () => handlers.delete(signal);
        },
        exit: (code) => exits.push(code),
        queueFactory: async () => queue,
        onStarted: started,
      };
      const exitCode = main([], io);
      const daemon = await daemonStarted;
      assert.equal((await httpRequest(`${daemon.url}/-/healthy`)).status, 200);
      assert.ok(logs.some((l) => l.includes('msg="no --config given: using ./promspool.yaml"')));
      assert.deepEqual([...handlers.keys()].sort(), ['SIGHUP', 'SIGINT', 'SIGTERM']);

      writeFileSync(join(dir, 'promspool.yaml'), testConfigYaml('', 'receiver:\n  enabled: false\n'));
      handlers.get('SIGHUP')!();
      await daemon.reload(); // queued behind the SIGHUP reload: resolves after it
      assert.equal(queue.appliedConfigs.length, 2);
      assert.equal(daemon.config.receiver.enabled, false);

      handlers.get('SIGTERM')!();
      assert.equal(await exitCode, 0);
      assert.equal(queue.stopCalls, 1);
      assert.equal(handlers.size, 0, 'signal handlers removed after shutdown');
      assert.deepEqual(exits, []);
      const phases = logs
        .map((l) => /msg="([^"]+)"/.exec(l)?.[1])
        .filter((m) => m?.startsWith('shutting down') || m === 'shutdown complete');
      assert.deepEqual(phases, [
        'shutting down: refusing new writes',
        'shutting down: closing the listener',
        'shutting down: flushing and draining the queue',
        'shutdown complete',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a second signal during shutdown exits at once with 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'promspool-main-'));
    try {
      writeFileSync(join(dir, 'promspool.yaml'), testConfigYaml());
      const queue = new FakeQueue();
      let releaseStop!: () => void;
      const stopGate = new Promise<void>((r) => {
        releaseStop = r;
      });
      queue.stop = async () => {
        queue.stopCalls++;
        await stopGate;
      };
      const handlers = new Map<string, () => void>();
      const exits: number[] = [];
      let started!: (d: Daemon) => void;
      const daemonStarted = new Promise<Daemon>((r) => {
        started = r;
      });
      const exitCode = main(['--log.level', 'error'], {
        cwd: dir,
        stderr: () => {},
        onSignal: (signal, handler) => {
          handlers.set(signal, handler);
          return () => handlers.delete(signal);
        },
        exit: (code) => exits.push(code),
        queueFactory: async () => queue,
        onStarted: started,
      });
      await daemonStarted;
      handlers.get('SIGINT')!();
      handlers.get('SIGTERM')!();
      assert.deepEqual(exits, [1]);
      releaseStop();
      assert.equal(await exitCode, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
