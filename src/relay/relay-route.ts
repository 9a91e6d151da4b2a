/**
 * The relay route: how a remote-write 1.0 body stored as received (a kind-2 record, see
 * `src/serialization/raw-record.ts`) is grouped on disk and how it goes out. Every decision of the
 * route is made here; the writer (`src/queue.ts`), the endpoint (`src/endpoint/endpoint.ts`) and
 * the send loops' batches (`src/network/batch-builder.ts`) ask.
 *
 * On disk a record has either 1 group (the body as received) or {@link STORED_GROUPS} groups,
 * group `k` holding the series of the virtual shards `v` with `storedGroupOf(v) = k`
 * (`src/network/partition.ts`). The grouping does not depend on the number of send loops, so a
 * loop count change never regroups stored records. Up to 16 loops each group goes out whole through
 * one loop; beyond (the network's partitions are finer than the groups) the groups' series go out
 * as stored labels. Records of older builds have other group counts (the least common
 * multiple of the endpoints' `min_shards`); they are read too, and sent whole only when their
 * groups line up with the loops as the network assigns them now.
 *
 * Per record, each endpoint's route says one of:
 * - `stored-bytes`: the groups' snappy elements go out untouched, one work per non-empty group,
 *   joined with other works' elements into a request without compressing anything;
 * - `stored-labels`: each series' stored bytes are copied by the 1.0 encoder, with its samples
 *   encoded again when a cut (ttl, sample age) removed some, and the external labels merged into
 *   its label bytes; the request is compressed again;
 * - `transcoded`: a 2.0 endpoint's record whose series go out with their stored labels (no write
 *   relabel rules at send time, no ttl cut) is uncompressed into the endpoint's 2.0 transcoder
 *   (`src/wire/rw2-transcode-wasm.ts`, WebAssembly) when it is read, and its requests are encoded
 *   there, byte for byte as the 2.0 encoder would. A request the transcoder cannot encode (one of
 *   its records was cut by the sample age limit at send time, or is not held: see
 *   {@link routedEncoderV2}) goes to the 2.0 encoder, which reads the stored bytes itself;
 * - `decoded`: the record's labels are decoded (write relabel rules read them; a 2.0 request is
 *   built from strings) and the request is encoded from them.
 *
 * External labels are merged and write relabel rules applied at ingest instead of at send time
 * when every endpoint has the same rules (or none) and there are rules, or external labels and an
 * endpoint that then sends stored bytes ({@link ingestRelabelPlan}): the relay scan stores the series as they go out, and the record
 * names the rule set and external labels (its digest). A record relabeled under the endpoint's
 * current digest goes out like a record of an endpoint without rules or external labels (stored
 * bytes when nothing else prevents it; the encoders merge nothing into it:
 * `SignalRecord.externalLabelsMerged`); on a 2.0 endpoint it is transcoded only when the rules
 * cannot remove an external label's name ({@link keepsExternalLabelNames}: the transcoder merges
 * them for every record, which then adds nothing), else decoded. One relabeled under another
 * digest (the config changed across a restart) is sent with the endpoint's current external
 * labels merged where absent and its current rules applied on top (decoded with rules; see
 * {@link RelayRoute.relabeledHere}); an unmarked record (older builds, the scan's fallbacks) is
 * merged and relabeled at send time, as before.
 */
import type { EndpointConfig } from '../config/types.js';
import { identityRange } from '../endpoint/record-shaping.js';
import { externalLabelList } from '../endpoint/write-relabel.js';
import { SHARD_PARTITIONS, STORED_GROUPS } from '../network/partition.js';
import { type PortionRef, type SendWork, VIRTUAL_SHARDS } from '../network/types.js';
import { ingestRelabelOf } from '../serialization/raw-record.js';
import type { RawGroups, SignalRecord } from '../serialization/types.js';
import type { Rw2Transcoder } from '../wire/rw2-transcode-wasm.js';
import type { SnappyElements } from '../wire/snappy.js';
import type { ProtobufMessage, WriteRequestEncoder } from '../wire/types.js';
import { type IngestRelabelPlan, ingestRelabelDigest, keepsExternalLabelNames } from './ingest-relabel.js';

/** How one record goes out of one endpoint (see the module comment). */
export type RelayWay = 'stored-bytes' | 'stored-labels' | 'transcoded' | 'decoded';

/** The relayed records an endpoint sent each way (kind-1 records are not counted). */
export interface RelayRouteStats {
  storedBytes: number;
  storedLabels: number;
  transcoded: number;
  decoded: number;
}

/**
 * What the route reads of the endpoint's network: how many loops, and which one would send a
 * stored group holding a virtual shard now (-1 while the assignment changes: `wholeLoopOf` and
 * `pinAssignment` in src/network/manager.ts).
 */
export interface LoopAssignment {
  readonly shards: number;
  wholeLoopOf(vshard: number): number;
  /**
   * The message the endpoint sends now (a 2.0 endpoint sends 1.0 after a fallback until its next
   * probe); absent: the configured one.
   */
  sendingMessage?(): ProtobufMessage;
}

/**
 * Whether an endpoint can send stored bytes at all: a 1.0 endpoint with no external labels to
 * merge and no write relabel rules (or both applied at ingest: `relabeledAtIngest`), and no sample
 * age cut at send time (a cut or a label change needs the series re-encoded). A 2.0 endpoint
 * never does: its batches must be encodable as either message.
 */
export function sendsStoredBytes(
  config: EndpointConfig,
  externalLabels: Readonly<Record<string, string>>,
  relabeledAtIngest = false,
): boolean {
  return (
    config.protobufMessage !== 'io.prometheus.write.v2.Request' &&
    (relabeledAtIngest ||
      (config.writeRelabelConfigs.length === 0 && externalLabelList(externalLabels).length === 0)) &&
    config.queue.sampleAgeLimitMs === 0
  );
}

/**
 * How many groups the writer builds a kind-2 record in: {@link STORED_GROUPS} when some endpoint
 * that can send stored bytes may run more than one send loop (`max_shards` > 1: its loops may grow
 * at any time, and a partitioned record goes out whole whatever their number), else 1: the body
 * as received, which costs the writer nothing and goes out whole through a single loop. Grouping
 * for endpoints that re-encode anyway would cost the writer for nothing.
 */
export function relayGroupCount(
  endpoints: readonly EndpointConfig[],
  externalLabels: Readonly<Record<string, string>>,
): number {
  const atIngest = ingestRelabelPlan(endpoints, externalLabels) !== undefined;
  for (const ep of endpoints) {
    if (!sendsStoredBytes(ep, externalLabels, atIngest)) continue;
    if (Math.max(ep.queue.minShards, ep.queue.maxShards) > 1) return STORED_GROUPS;
  }
  return 1;
}

/**
 * Backlog (samples on an endpoint's disk not yet sent) from which the writer groups relayed records
 * by {@link SHARD_PARTITIONS} rather than {@link STORED_GROUPS}: what 16 loops of full requests send
 * in 50 round trips each (1.6M samples with `max_samples_per_send` 2,000: 5 s at 100 ms per request,
 * 16 s of a 100,000 samples/s input). Beyond it the endpoint is catching up and may want more than
 * 16 loops, which send a 16-group record only as stored labels (re-encoded on the event loop:
 * ~200,000 samples/s on bench/reshard, below the 16 loops' stored bytes), while each of 64 groups
 * lies within one partition and goes out as stored bytes through any number of loops. 64 groups
 * cost the scan worker ~150 us more per 2,000-series request (one native snappy call each, and
 * 13% less compression), which is why they are kept for the backlog.
 */
export function wideGroupsBacklog(maxSamplesPerSend: number): number {
  return STORED_GROUPS * maxSamplesPerSend * 50;
}

/** How often {@link RelayGrouping} reads the endpoints' backlogs (ms). */
const GROUPING_CHECK_MS = 1000;

/** One endpoint as the writer's grouping sees it. */
export interface GroupingEndpoint {
  readonly config: EndpointConfig;
  /** Samples on its disk not yet sent. */
  pendingSignals(): number;
  /** Send loops it runs now. */
  loops(): number;
}

/**
 * The writer's group count for the next relayed record: {@link relayGroupCount}, widened to
 * {@link SHARD_PARTITIONS} while an endpoint that sends stored bytes may run more than 16 loops and
 * either runs more than 16 now (a receiver too slow for 16: bench/reshard at 200,000 samples/s
 * took 18 loops, and its 16-group records went out as stored labels at ~150,000 samples/s) or is
 * behind by more than {@link wideGroupsBacklog} (it will want them); back once every such endpoint
 * runs at most 16 loops with a backlog under half of that. Read at most once a second (the
 * receiver asks for every request).
 */
export class RelayGrouping {
  private readonly base: number;
  private readonly watched: GroupingEndpoint[];
  private wide = false;
  private checkedMs = Number.NEGATIVE_INFINITY;

  constructor(endpoints: readonly GroupingEndpoint[], externalLabels: Readonly<Record<string, string>>) {
    this.base = relayGroupCount(
      endpoints.map((e) => e.config),
      externalLabels,
    );
    const atIngest =
      ingestRelabelPlan(
        endpoints.map((e) => e.config),
        externalLabels,
      ) !== undefined;
    this.watched =
      this.base === 1
        ? []
        : endpoints.filter(
            (e) => sendsStoredBytes(e.config, externalLabels, atIngest) && e.config.queue.maxShards > STORED_GROUPS,
          );
  }

  /** The group count for a record written at `nowMs`. */
  groups(nowMs: number): number {
    if (this.watched.length === 0) return this.base;
    if (nowMs - this.checkedMs >= GROUPING_CHECK_MS) {
      this.checkedMs = nowMs;
      let behind = false;
      let clear = true;
      for (const e of this.watched) {
        const limit = wideGroupsBacklog(e.config.queue.maxSamplesPerSend);
        const pending = e.pendingSignals();
        const many = e.loops() > STORED_GROUPS;
        if (many || pending > limit) behind = true;
        if (many || pending > limit / 2) clear = false;
      }
      if (behind) this.wide = true;
      else if (clear) this.wide = false;
    }
    return this.wide ? SHARD_PARTITIONS : this.base;
  }
}

/**
 * What the relay scan does at ingest, or undefined (each endpoint merges and relabels at send
 * time): merge the external labels, then apply the write relabel rules, as Prometheus does before
 * sending. Only when every endpoint has the same rule set, or every one has none (equal
 * {@link ingestRelabelDigest}: the records are shared, one payload for every endpoint's queue),
 * and there is something to do: rules, or external labels (an empty rule set then merges them
 * and nothing else) with an endpoint that then sends stored bytes. Merging alone gains nothing
 * for endpoints that re-encode anyway (2.0, a sample age limit): the 2.0 transcoder merges from
 * its series cache, while the scan's cache costs per series (bench/relay --external-labels with
 * 2.0 out, in-process: 1.40-1.53 -> 1.79 CPU s/1M, peak RSS 252 -> 306-310 MB). Endpoints whose
 * rules differ keep the send-time route.
 */
export function ingestRelabelPlan(
  endpoints: readonly EndpointConfig[],
  externalLabels: Readonly<Record<string, string>>,
): IngestRelabelPlan | undefined {
  if (endpoints.length === 0) return undefined;
  const external = externalLabelList(externalLabels);
  let plan: IngestRelabelPlan | undefined;
  for (const ep of endpoints) {
    const digest = ingestRelabelDigest(ep.writeRelabelConfigs, ep.nameValidationScheme, externalLabels);
    if (plan === undefined) plan = { digest, rules: ep.writeRelabelConfigs, scheme: ep.nameValidationScheme, external };
    else if (plan.digest !== digest) return undefined;
  }
  if (plan === undefined || (plan.rules.length === 0 && external.length === 0)) return undefined;
  if (plan.rules.length === 0 && !endpoints.some((ep) => sendsStoredBytes(ep, externalLabels, true))) return undefined;
  return plan;
}

/**
 * The elements a work goes out as, when the route gave it its stored bytes and they fit a request
 * of `maxSignals`; undefined: the batch encodes the work's series.
 */
export function storedElementsOf(work: SendWork, maxSignals: number): SnappyElements | undefined {
  return work.elements !== undefined && work.signals <= maxSignals ? work.elements : undefined;
}

export interface RelayRouteOptions {
  config: EndpointConfig;
  externalLabels: Readonly<Record<string, string>>;
  /** The endpoint encodes with an encoder of its caller's: only that encoder's own output is sent. */
  customEncoder: boolean;
  /**
   * The endpoint (2.0) has a transcoder (`createRw2Transcoder`; none without WebAssembly or with
   * a custom encoder): its records with stored labels go out `transcoded`.
   */
  transcodes?: boolean;
  /** Called once, the first time a record relabeled at ingest under other rules is read. */
  onForeignRules?: (recordDigest: string, ownDigest: string | undefined) => void;
  network: LoopAssignment;
}

/** One endpoint's route; see the module comment. */
export interface RelayRoute {
  /**
   * How `rec` goes out: `acked` are its portions acknowledged in an earlier run, `cutoffMs` the
   * ttl's cut now (-Infinity without one). Counted in {@link stats} for relayed records.
   */
  decide(rec: SignalRecord, acked: ReadonlySet<number> | undefined, cutoffMs: number): RelayWay;
  /**
   * The works of a record {@link decide} sent as `stored-bytes`: one per non-empty group, carrying
   * its elements and every portion (`before[v]` > 0) of its virtual shards, oldest group first.
   */
  storedWorks(rec: SignalRecord, segmentId: number, record: number, before: Uint32Array): SendWork[];
  /**
   * Whether a work of {@link storedWorks} may carry several of the network's partitions (a group
   * count that is not a multiple of SHARD_PARTITIONS): the endpoint then pins the assignment while
   * it hands them over.
   */
  spansPartitions(rec: SignalRecord): boolean;
  /**
   * True when `rec` was relabeled at ingest under this endpoint's current rules and external
   * labels: the endpoint must not relabel it again, nor merge the external labels again
   * (`SignalRecord.externalLabelsMerged`). A record relabeled under another digest answers false
   * (the endpoint's current external labels are merged where absent and its rules, if any, applied
   * on top) and is reported once through `onForeignRules`.
   */
  relabeledHere(rec: SignalRecord): boolean;
  readonly stats: RelayRouteStats;
}

export function createRelayRoute(opts: RelayRouteOptions): RelayRoute {
  return new EndpointRelayRoute(opts);
}

class EndpointRelayRoute implements RelayRoute {
  readonly stats: RelayRouteStats = { storedBytes: 0, storedLabels: 0, transcoded: 0, decoded: 0 };
  /** Stored bytes may go out (see {@link sendsStoredBytes}) and the encoder is ours. */
  private readonly storedBytes: boolean;
  /** Likewise, for a record relabeled at ingest under this endpoint's rules. */
  private readonly storedBytesRelabeled: boolean;
  /** Labels are decoded: write relabel rules read them, and a 2.0 request is built from strings. */
  private readonly decodesLabels: boolean;
  /** Likewise, for a record relabeled at ingest under this endpoint's rules: only 2.0 decodes. */
  private readonly decodesLabelsRelabeled: boolean;
  private readonly maxSamplesPerSend: number;
  /**
   * The endpoint's rule set and external labels, as records relabeled at ingest name them;
   * undefined without rules or external labels.
   */
  private readonly digest: string | undefined;
  /**
   * A record relabeled at ingest under {@link digest} may be transcoded: merging the external
   * labels again (the transcoder does it for every record) adds nothing to its series.
   */
  private readonly transcodesRelabeled: boolean;
  private foreignReported = false;

  constructor(private readonly opts: RelayRouteOptions) {
    const { config } = opts;
    this.storedBytes = !opts.customEncoder && sendsStoredBytes(config, opts.externalLabels);
    this.storedBytesRelabeled = !opts.customEncoder && sendsStoredBytes(config, opts.externalLabels, true);
    this.decodesLabelsRelabeled = config.protobufMessage === 'io.prometheus.write.v2.Request';
    this.decodesLabels = this.decodesLabelsRelabeled || config.writeRelabelConfigs.length > 0;
    this.maxSamplesPerSend = config.queue.maxSamplesPerSend;
    const external = externalLabelList(opts.externalLabels);
    this.digest =
      config.writeRelabelConfigs.length === 0 && external.length === 0
        ? undefined
        : ingestRelabelDigest(config.writeRelabelConfigs, config.nameValidationScheme, opts.externalLabels);
    this.transcodesRelabeled =
      this.decodesLabelsRelabeled && keepsExternalLabelNames(config.writeRelabelConfigs, external);
  }

  relabeledHere(rec: SignalRecord): boolean {
    const mark = ingestRelabelOf(rec);
    if (mark === undefined) return false;
    if (mark.digest === this.digest) return true;
    if (!this.foreignReported) {
      this.foreignReported = true;
      this.opts.onForeignRules?.(mark.digest, this.digest);
    }
    return false;
  }

  decide(rec: SignalRecord, acked: ReadonlySet<number> | undefined, cutoffMs: number): RelayWay {
    const raw = rec.rawSeries;
    if (raw === undefined) return 'decoded';
    const way = this.wayOf(rec, acked, cutoffMs);
    if (way === 'stored-bytes') this.stats.storedBytes++;
    else if (way === 'stored-labels') this.stats.storedLabels++;
    else if (way === 'transcoded') this.stats.transcoded++;
    else this.stats.decoded++;
    return way;
  }

  private wayOf(rec: SignalRecord, acked: ReadonlySet<number> | undefined, cutoffMs: number): RelayWay {
    // Relabeled at ingest under this endpoint's rules: the rules are done with, as if there were none.
    const here = this.digest !== undefined && ingestRelabelOf(rec)?.digest === this.digest;
    if (
      this.opts.transcodes === true &&
      this.decodesLabelsRelabeled &&
      // After a fallback to 1.0 the transcoder would uncompress and index a body nobody encodes.
      this.opts.network.sendingMessage?.() !== 'prometheus.WriteRequest' &&
      (here ? this.transcodesRelabeled : this.opts.config.writeRelabelConfigs.length === 0) &&
      rec.rawGroups !== undefined &&
      // A ttl cut decodes the samples (and marks the series no longer intact): the 2.0 encoder's.
      (rec.rawSeries as NonNullable<SignalRecord['rawSeries']>).minTimestampMs >= cutoffMs
    )
      return 'transcoded';
    if (here ? this.decodesLabelsRelabeled : this.decodesLabels) return 'decoded';
    const groups = rec.rawGroups;
    if (
      groups === undefined ||
      !(here ? this.storedBytesRelabeled : this.storedBytes) ||
      // Portions sent in an earlier run are left out: the groups are no longer what goes out.
      (acked !== undefined && acked.size > 0) ||
      (rec.rawSeries as NonNullable<SignalRecord['rawSeries']>).minTimestampMs < cutoffMs
    )
      return 'stored-labels';
    for (let g = 0; g < groups.count; g++) if (groups.samples[g] > this.maxSamplesPerSend) return 'stored-labels';
    return this.lineUp(groups) ? 'stored-bytes' : 'stored-labels';
  }

  spansPartitions(rec: SignalRecord): boolean {
    const g = rec.rawGroups?.count ?? 1;
    return g % SHARD_PARTITIONS !== 0;
  }

  /**
   * Whether each group's virtual shards are owned by one loop now and the assignment is not
   * changing. A group count that is a multiple of SHARD_PARTITIONS puts each group within one
   * partition: always whole, even while partitions move (the network holds a moving partition's
   * work itself). Asked of the network for every record, whatever its group count (~256 lookups,
   * against thousands of series per record): the assignment is the network's to change, and each
   * series must go through its owner. The endpoint pins the assignment while it hands the groups over.
   */
  private lineUp(groups: RawGroups): boolean {
    const g = groups.count;
    const net = this.opts.network;
    if (g % SHARD_PARTITIONS === 0) return true;
    if (g === 1) return net.shards === 1 && net.wholeLoopOf(0) >= 0;
    for (let k = 0; k < g; k++) {
      const loop = net.wholeLoopOf(k);
      if (loop < 0) return false;
      for (let v = k + g; v < VIRTUAL_SHARDS; v += g) if (net.wholeLoopOf(v) !== loop) return false;
    }
    return true;
  }

  storedWorks(rec: SignalRecord, segmentId: number, record: number, before: Uint32Array): SendWork[] {
    const groups = rec.rawGroups as RawGroups;
    const g = groups.count;
    const works: SendWork[] = [];
    let first = 0;
    for (let k = 0; k < g; k++) {
      const end = groups.seriesEnd[k];
      if (end === first) continue;
      const portions: PortionRef[] = [];
      for (let v = k; v < VIRTUAL_SHARDS; v += g) if (before[v] > 0) portions.push({ segmentId, record, vshard: v });
      works.push({
        record: rec,
        series: identityRange(first, end),
        portion: portions[0],
        ...(portions.length > 1 ? { morePortions: portions.slice(1) } : {}),
        signals: groups.samples[k],
        elements: groups.elements[k],
      });
      first = end;
    }
    return works;
  }
}

/**
 * A 2.0 endpoint's encoder for one send loop: each request through `transcoder` (shared by the
 * endpoint's loops) when it can encode it, which is when every record of the request went the
 * `transcoded` way and still holds its series as stored (no sample age cut at send time since);
 * otherwise through `encoder`, the loop's 2.0 encoder. Both write the same bytes
 * (test/wire/rw2-transcode-wasm.test.ts), so which one ran is invisible on the wire.
 */
export function routedEncoderV2(encoder: WriteRequestEncoder, transcoder: Rw2Transcoder): WriteRequestEncoder {
  return {
    encode: (slices, count, metadata) =>
      transcoder.encode(slices, count, metadata) ?? encoder.encode(slices, count, metadata),
    // A batch of whole series as runs (the send loop's BatchBuilder): the transcoder's, or the
    // loop encodes its slices through `encode` above.
    encodeRuns: (runs, count, metadata) => transcoder.encodeRuns(runs, count, metadata),
  };
}
