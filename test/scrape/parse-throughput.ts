/**
 * Throughput of the exposition parsers on a 10,000-series node_exporter-like body (run by hand:
 * `node dist/test/scrape/parse-throughput.js`; not a test). Three paths per format:
 * - `next`: entries only (value, timestamp, raw series offsets), what a cache hit needs before the lookup;
 * - `cache hit`: plus a Map lookup keyed by `series()`, the scrape loop's steady state;
 * - `labels`: plus `labels()` for every series, a first scrape (cache miss).
 * Prints lines per second, the median of 15 runs after 5 warm-up runs.
 */
import { createParser } from '../../src/scrape/index.js';

function nodeExporterLike(openMetrics: boolean): { body: string; lines: number } {
  const out: string[] = [];
  const family = (name: string, help: string, type: string, count: number, series: (i: number) => string) => {
    const fam = openMetrics && type === 'counter' ? name.replace(/_total$/, '') : name;
    out.push(`# HELP ${fam} ${help}`, `# TYPE ${fam} ${type}`);
    for (let i = 0; i < count; i++) out.push(series(i));
  };
  const modes = ['idle', 'iowait', 'irq', 'nice', 'softirq', 'steal', 'system', 'user'];
  family('node_cpu_seconds_total', 'Seconds the CPUs spent in each mode.', 'counter', 4000, (i) => {
    return `node_cpu_seconds_total{cpu="${i >> 3}",mode="${modes[i & 7]}"} ${(i * 1234.56).toFixed(2)}`;
  });
  family('node_network_receive_bytes_total', 'Network device statistic receive_bytes.', 'counter', 2000, (i) => {
    return `node_network_receive_bytes_total{device="veth${i.toString(16)}abc"} ${(i * 7.3e8 + 1).toExponential(6)}`;
  });
  family(
    'node_filesystem_avail_bytes',
    'Filesystem space available to non-root users in bytes.',
    'gauge',
    2000,
    (i) => {
      return `node_filesystem_avail_bytes{device="/dev/sd${i}",fstype="ext4",mountpoint="/var/lib/kubelet/pods/${i}/volumes"} ${i * 4096}`;
    },
  );
  family('node_disk_io_time_seconds_total', 'Total seconds spent doing I/Os.', 'counter', 1000, (i) => {
    return `node_disk_io_time_seconds_total{device="nvme${i}n1"} ${i}.${i % 1000}`;
  });
  family('node_scrape_collector_success', 'node_exporter: Whether a collector succeeded.', 'gauge', 1000, (i) => {
    return `node_scrape_collector_success{collector="c${i}"} 1`;
  });
  if (openMetrics) out.push('# EOF');
  return { body: `${out.join('\n')}\n`, lines: out.length };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

for (const format of ['text-0.0.4', 'openmetrics-1.0.0'] as const) {
  const { body, lines } = nodeExporterLike(format === 'openmetrics-1.0.0');
  const buffer = Buffer.from(body);
  const cache = new Map<string, number>();
  {
    const p = createParser(format, body);
    let id = 0;
    for (let k = p.next(); k !== undefined; k = p.next()) if (k === 'series') cache.set(p.series(), id++);
  }
  const paths: Record<string, () => number> = {
    next: () => {
      const p = createParser(format, body);
      let sum = 0;
      for (let k = p.next(); k !== undefined; k = p.next()) if (k === 'series') sum += p.seriesEnd - p.seriesStart;
      return sum;
    },
    'cache hit': () => {
      const p = createParser(format, body);
      let sum = 0;
      for (let k = p.next(); k !== undefined; k = p.next()) if (k === 'series') sum += cache.get(p.series()) ?? 0;
      return sum;
    },
    'cache hit, from Buffer': () => {
      const p = createParser(format, buffer);
      let sum = 0;
      for (let k = p.next(); k !== undefined; k = p.next()) if (k === 'series') sum += cache.get(p.series()) ?? 0;
      return sum;
    },
    labels: () => {
      const p = createParser(format, body);
      let sum = 0;
      for (let k = p.next(); k !== undefined; k = p.next()) if (k === 'series') sum += p.labels().length;
      return sum;
    },
  };
  for (const [name, run] of Object.entries(paths)) {
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = process.hrtime.bigint();
      run();
      const ns = Number(process.hrtime.bigint() - t0);
      if (i >= 5) times.push(ns);
    }
    const ms = median(times) / 1e6;
    const perSec = (lines / ms) * 1000;
    console.log(
      `${format.padEnd(18)} ${name.padEnd(24)} ${lines} lines (${buffer.length} bytes) in ${ms.toFixed(2)} ms = ${(perSec / 1e6).toFixed(2)} M lines/s`,
    );
  }
}
