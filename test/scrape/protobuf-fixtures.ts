/**
 * Test bodies of the protobuf exposition format, encoded by protobufjs from client_model's
 * metrics.proto (test/fixtures/proto/client_model), so they are independent of the parser's own
 * reader. Families are given as protobufjs objects or in protobuf text format (as Prometheus'
 * tests write them), which {@link parsePrototext} turns into objects.
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { ParsedLabel } from '../../src/scrape/index.js';
import { compareUtf8 } from '../../src/serialization/label-order.js';
import type { MetricType } from '../../src/serialization/types.js';

/** dist/test/scrape -> repository root; .proto files are not copied into dist. */
const PROTO = fileURLToPath(new URL('../../../test/fixtures/proto/client_model/metrics.proto', import.meta.url));

let metricFamilyType: protobuf.Type | undefined;

/** io.prometheus.client.MetricFamily, field names as in the .proto (snake_case). */
export function metricFamilyProto(): protobuf.Type {
  if (!metricFamilyType) {
    const root = new protobuf.Root();
    root.loadSync(PROTO, { keepCase: true });
    metricFamilyType = root.lookupType('io.prometheus.client.MetricFamily');
  }
  return metricFamilyType;
}

/** A body of varint-length-delimited MetricFamily messages, as Prometheus' `metricFamiliesToProtobuf`. */
export function encodeFamilies(families: readonly (string | Record<string, unknown>)[]): Buffer {
  const type = metricFamilyProto();
  const parts: Uint8Array[] = [];
  for (const f of families) {
    const obj = typeof f === 'string' ? parsePrototext(f, type) : f;
    parts.push(type.encodeDelimited(type.fromObject(obj)).finish());
  }
  return Buffer.concat(parts);
}

/**
 * The subset of protobuf text format Prometheus' tests use: `field: value`, `field: < ... >` and
 * `field { ... }`, quoted strings, numbers and enum names; repeated fields become arrays.
 * Prometheus' own copy of metrics.proto calls `created_timestamp` `start_timestamp`.
 */
export function parsePrototext(text: string, type: protobuf.Type = metricFamilyProto()): Record<string, unknown> {
  const tokens = text.match(/"(?:[^"\\]|\\.)*"|[<>{}:]|[^\s<>{}:"]+/g) ?? [];
  let i = 0;
  const parseMessage = (t: protobuf.Type, close: string | undefined): Record<string, unknown> => {
    const obj: Record<string, unknown> = {};
    for (;;) {
      const tok = tokens[i++];
      if (tok === undefined) {
        if (close !== undefined) throw new Error('unterminated message in prototext');
        return obj;
      }
      if (tok === close) return obj;
      const name = tok === 'start_timestamp' ? 'created_timestamp' : tok;
      const field = t.fields[name];
      if (!field) throw new Error(`unknown field ${tok} of ${t.name}`);
      field.resolve();
      if (tokens[i] === ':') i++;
      let value: unknown;
      const next = tokens[i];
      if (next === '<' || next === '{') {
        i++;
        value = parseMessage(field.resolvedType as protobuf.Type, next === '<' ? '>' : '}');
      } else {
        i++;
        if (next.startsWith('"')) value = JSON.parse(next);
        else if (field.resolvedType instanceof protobuf.Enum) value = next;
        else if (/^[+-]?inf(inity)?$/i.test(next)) value = next.startsWith('-') ? -Infinity : Infinity;
        else value = /^nan$/i.test(next) ? Number.NaN : Number(next);
      }
      if (field.repeated) ((obj[name] ??= []) as unknown[]).push(value);
      else obj[name] = value;
    }
  };
  return parseMessage(type, undefined);
}

/** Prometheus' `labels.FromStrings`: pairs of name and value, sorted by name. */
export function L(...pairs: string[]): ParsedLabel[] {
  const out: ParsedLabel[] = [];
  for (let k = 0; k + 1 < pairs.length; k += 2) out.push({ name: pairs[k], value: pairs[k + 1] });
  return out.sort((a, b) => compareUtf8(a.name, b.name));
}

/** Prometheus' `histogram.Histogram` / `FloatHistogram` literal, as its tests write them. */
export interface GoHistogram {
  CounterResetHint?: number;
  Count?: number;
  Sum?: number;
  ZeroThreshold?: number;
  ZeroCount?: number;
  Schema?: number;
  PositiveSpans?: { Offset: number; Length: number }[];
  NegativeSpans?: { Offset: number; Length: number }[];
  PositiveBuckets?: number[];
  NegativeBuckets?: number[];
}

/** One `parsedEntry` of Prometheus' parser tests. */
export interface UpstreamEntry {
  /** Series bytes (Prometheus' own key format) or the metric family of a metadata entry. */
  m: string;
  help?: string;
  typ?: MetricType;
  unit?: string;
  v?: number;
  t?: number;
  st?: number;
  lset?: ParsedLabel[];
  es?: { Labels: ParsedLabel[]; Value: number; HasTs: boolean; Ts?: number }[];
  shs?: GoHistogram;
  fhs?: GoHistogram;
}
