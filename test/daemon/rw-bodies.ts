/**
 * Minimal remote-write protobuf bodies for the receiver tests, written by hand so the tests do
 * not depend on the encoder under test elsewhere. Field numbers from prometheus/prompb.
 */
export interface TestSeries {
  /** Written in the given order (so tests can send unsorted labels). */
  labels: [string, string][];
  samples: [timestampMs: number, value: number][];
}

/** Two series, three samples: the receiver tests' standard push. */
export const TWO_SERIES: TestSeries[] = [
  {
    labels: [
      ['__name__', 'up'],
      ['instance', 'a:9100'],
      ['job', 'node'],
    ],
    samples: [
      [1_700_000_000_000, 1],
      [1_700_000_015_000, 0],
    ],
  },
  {
    labels: [
      ['__name__', 'temp_celsius'],
      ['room', 'lab'],
    ],
    samples: [[1_700_000_000_500, 21.5]],
  },
];

class Writer {
  private parts: number[] = [];
  varint(n: number): this {
    let v = BigInt.asUintN(64, BigInt(n));
    while (v >= 0x80n) {
      this.parts.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.parts.push(Number(v));
    return this;
  }
  tag(field: number, wireType: number): this {
    return this.varint(field * 8 + wireType);
  }
  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2).varint(b.length);
    for (const x of b) this.parts.push(x);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytes(field, Buffer.from(s, 'utf8'));
  }
  double(field: number, v: number): this {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(v);
    this.tag(field, 1);
    for (const x of b) this.parts.push(x);
    return this;
  }
  int64(field: number, v: number): this {
    return this.tag(field, 0).varint(v);
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** prometheus.WriteRequest (remote-write 1.0), uncompressed. */
export function writeRequestV1(series: TestSeries[]): Uint8Array {
  const req = new Writer();
  for (const s of series) {
    const ts = new Writer();
    for (const [name, value] of s.labels) ts.bytes(1, new Writer().string(1, name).string(2, value).finish());
    for (const [t, v] of s.samples) ts.bytes(2, new Writer().double(1, v).int64(2, t).finish());
    req.bytes(1, ts.finish());
  }
  return req.finish();
}

/** io.prometheus.write.v2.Request (remote-write 2.0), uncompressed; symbols built here. */
export function writeRequestV2(series: TestSeries[]): Uint8Array {
  const symbols = [''];
  const ref = (s: string) => {
    let i = symbols.indexOf(s);
    if (i < 0) i = symbols.push(s) - 1;
    return i;
  };
  const tsParts: Uint8Array[] = [];
  for (const s of series) {
    const refs = new Writer();
    for (const [name, value] of s.labels) refs.varint(ref(name)).varint(ref(value));
    const ts = new Writer().bytes(1, refs.finish());
    for (const [t, v] of s.samples) ts.bytes(2, new Writer().double(1, v).int64(2, t).finish());
    tsParts.push(ts.finish());
  }
  const req = new Writer();
  for (const s of symbols) req.string(4, s);
  for (const p of tsParts) req.bytes(5, p);
  return req.finish();
}
