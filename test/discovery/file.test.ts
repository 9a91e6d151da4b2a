import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createFileDiscoverer, readGroupsFile } from '../../src/discovery/file.js';
import type { Logger } from '../../src/logger.js';
import { type LoggedLine, recordingLogger } from '../helpers/recording-logger.js';
import { SimulatedClock } from '../helpers/simulated-clock.js';
import { UpdateQueue } from './update-queue.js';

const REFRESH = 300_000;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'promspool-file-sd-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes `file` whole in one step (a rename), as tools that generate SD files should. */
async function put(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-write`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

/** A logger whose `errors()` resolves on the next error line. */
function waitingLogger(): { logger: Logger; lines: LoggedLine[]; nextError(): Promise<LoggedLine> } {
  const lines: LoggedLine[] = [];
  const base = recordingLogger(lines);
  let waiter: ((l: LoggedLine) => void) | undefined;
  const wrap = (l: Logger): Logger => ({
    ...l,
    error(msg, fields) {
      l.error(msg, fields);
      const w = waiter;
      waiter = undefined;
      w?.(lines[lines.length - 1]);
    },
    child: (f) => wrap(l.child(f)),
  });
  return {
    logger: wrap(base),
    lines,
    nextError: () =>
      new Promise((resolve) => {
        waiter = resolve;
      }),
  };
}

describe('file discovery', () => {
  it('reads JSON and YAML, follows changes through fs events, keeps the last good groups of a bad file', async () => {
    const sd = join(dir, 'watched');
    await mkdir(sd);
    const a = join(sd, 'a.json');
    const b = join(sd, 'b.yml');
    await put(a, JSON.stringify([{ targets: ['a:1'], labels: { env: 'prod' } }]));
    const log = waitingLogger();
    const d = createFileDiscoverer(
      { files: [join(sd, '*.json'), join(sd, '*.yml')], refreshIntervalMs: REFRESH },
      { clock: new SimulatedClock(), logger: log.logger },
    );
    const q = new UpdateQueue(d);
    try {
      assert.deepEqual(await q.next(), [
        { source: `${a}:0`, targets: [{ __address__: 'a:1' }], labels: { env: 'prod', __meta_filepath: a } },
      ]);

      // A new file: only its group is reported.
      await put(b, '- targets: [b:1, b:2]\n  labels:\n    team: x\n');
      assert.deepEqual(await q.next(), [
        {
          source: `${b}:0`,
          targets: [{ __address__: 'b:1' }, { __address__: 'b:2' }],
          labels: { team: 'x', __meta_filepath: b },
        },
      ]);
      assert.equal(d.stats.targets, 3);

      // A file with one more group: only the new group changed.
      await put(a, JSON.stringify([{ targets: ['a:1'], labels: { env: 'prod' } }, { targets: ['a:2'] }]));
      assert.deepEqual(await q.next(), [
        { source: `${a}:1`, targets: [{ __address__: 'a:2' }], labels: { __meta_filepath: a } },
      ]);

      // A broken file: counted, logged with file and line, its last good groups stay.
      const failed = log.nextError();
      await put(a, '[\n  {"targets": ["a:1"]},\n  {"targets": [1]}\n]\n');
      const line = await failed;
      assert.deepEqual(line.fields, { file: a, line: 3, err: `${a}:3: [1].targets[0]: expected a "host:port" string` });
      // Counted per refresh that read it (several fs events may each refresh), each one logged.
      assert.ok(d.stats.failures >= 1);
      assert.equal(d.stats.failures, log.lines.filter((l) => l.level === 'error').length);
      assert.equal(d.stats.targets, 4);

      // A deleted file: its group is reported empty.
      await unlink(b);
      assert.deepEqual(await q.next(), [{ source: `${b}:0`, targets: [], labels: {} }]);
      assert.equal(d.stats.targets, 2);
    } finally {
      await q.stop();
    }
  });

  it('re-reads every refresh_interval where no fs event comes, and watches a directory created later', async () => {
    const later = join(dir, 'later');
    const clock = new SimulatedClock();
    const d = createFileDiscoverer({ files: [join(later, 'targets.yaml')], refreshIntervalMs: REFRESH }, { clock });
    const q = new UpdateQueue(d);
    try {
      assert.deepEqual(await q.next(), []);
      await mkdir(later);
      await put(join(later, 'targets.yaml'), '- targets: [c:1]\n');
      const next = q.next();
      await clock.advanceAndSettle(REFRESH);
      assert.deepEqual(await next, [
        {
          source: `${join(later, 'targets.yaml')}:0`,
          targets: [{ __address__: 'c:1' }],
          labels: { __meta_filepath: join(later, 'targets.yaml') },
        },
      ]);
      // That refresh started watching the new directory: the next change comes by its event.
      await put(join(later, 'targets.yaml'), '- targets: [c:2]\n');
      assert.deepEqual(
        (await q.next()).map((g) => g.targets),
        [[{ __address__: 'c:2' }]],
      );
    } finally {
      await q.stop();
    }
  });
});

describe('readGroupsFile', () => {
  const cases: [string, string, string][] = [
    ['bad.json', '[{"targets": ["a:1"],}]', 'bad.json:1: invalid JSON:'],
    ['bad.yml', '- targets: [a:1\n- labels: {}\n', 'bad.yml:'],
    ['notlist.yml', 'targets: [a:1]\n', 'notlist.yml:1: top level: expected a list of target groups'],
    [
      'unknown.yml',
      '- targets: [a:1]\n  label: {x: y}\n',
      'unknown.yml:2: [0].label: unknown key (a group has targets and labels)',
    ],
    ['labels.json', '[\n {"labels": {"a": 1}}\n]', 'labels.json:2: [0].labels.a: label values must be strings'],
  ];
  for (const [name, text, message] of cases) {
    it(`${name}: names the file and line`, async () => {
      const file = join(dir, name);
      await writeFile(file, text);
      await assert.rejects(readGroupsFile(file), (e: Error) => {
        assert.ok(e.message.startsWith(join(dir, message)), e.message);
        return true;
      });
    });
  }

  it('an empty YAML file is no groups', async () => {
    const file = join(dir, 'empty.yml');
    await writeFile(file, '');
    assert.deepEqual(await readGroupsFile(file), []);
  });
});
