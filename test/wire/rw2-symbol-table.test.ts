import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ScratchWriter } from '../../src/wire/proto-writer.js';
import { SymbolTable } from '../../src/wire/symbol-table.js';
import { remoteWriteProtos } from '../helpers/remote-write-client.js';

/** The `symbols` the table writes, decoded by protobufjs from the official definitions. */
function writtenSymbols(table: SymbolTable): string[] {
  const w = new ScratchWriter(16);
  table.write(w);
  const { RequestV2 } = remoteWriteProtos();
  const msg = RequestV2.toObject(RequestV2.decode(w.buf.subarray(0, w.pos)), { arrays: true }) as {
    symbols: string[];
  };
  return msg.symbols;
}

const utf8 = (s: string) => Buffer.from(s, 'utf8');

describe('SymbolTable', () => {
  it('starts every request over: symbols numbered from 1 in first-use order, only this request’s written', () => {
    const t = new SymbolTable();
    assert.equal(t.ref('job'), 1);
    assert.equal(t.ref('api'), 2);
    assert.equal(t.ref('job'), 1);
    assert.deepEqual(writtenSymbols(t), ['', 'job', 'api']);
    t.reset();
    // Remembered from the last request, but not this request's until used.
    assert.equal(t.size, 1);
    assert.equal(t.ref('api'), 1);
    assert.equal(t.ref('zone'), 2);
    assert.deepEqual(writtenSymbols(t), ['', 'api', 'zone']);
  });

  it('refsOfSlots gives the refs refOfSlot would, and the bytes of their varints', () => {
    const t = new SymbolTable();
    const strings = Array.from({ length: 200 }, (_x, i) => `s${i}`);
    const slots = Int32Array.from(strings, (s) => t.slotOf(s));
    const src = new Int32Array(slots.length + 3);
    src.set(slots, 3);
    const out = new Uint32Array(slots.length);
    const size = t.refsOfSlots(src, 3, slots.length, out);
    // Symbols 1..127 take one byte, 128..200 two.
    assert.equal(size, 127 + 73 * 2);
    assert.deepEqual(
      [...out],
      Array.from({ length: 200 }, (_x, i) => i + 1),
    );
    assert.equal(t.refOfSlot(slots[199]), 200);
    // Seen again in the same request: the same refs, nothing added.
    assert.equal(t.refsOfSlots(slots, 10, 2, out), 2);
    assert.deepEqual([out[0], out[1]], [11, 12]);
    assert.equal(t.size, 201);
  });

  it('slotOfBytes finds the slot slotOf gives for the same string, across requests, growing its table', () => {
    const t = new SymbolTable();
    const strings = Array.from({ length: 5000 }, (_x, i) => (i % 3 === 0 ? `välue-${i} ✓` : `v${i}`));
    const bySlotOf = strings.map((s) => t.slotOf(s));
    // In a larger buffer at an offset, as labels sit in a received body.
    for (let round = 0; round < 2; round++) {
      t.reset();
      strings.forEach((s, i) => {
        const b = Buffer.concat([Buffer.from('xx'), utf8(s), Buffer.from('yy')]);
        assert.equal(t.slotOfBytes(b, 2, b.length - 4), bySlotOf[i], s);
      });
    }
    // A string first seen by bytes is the slot slotOf then finds.
    const fresh = utf8('first-by-bytes');
    const slot = t.slotOfBytes(fresh, 0, fresh.length);
    assert.equal(t.slotOf('first-by-bytes'), slot);
    assert.equal(t.stringOfSlot(slot), 'first-by-bytes');
    // Prefixes and the empty string are other strings.
    assert.notEqual(t.slotOfBytes(fresh, 0, 5), slot);
    assert.equal(t.stringOfSlot(t.slotOfBytes(fresh, 0, 5)), 'first');
    assert.equal(t.slotOfBytes(fresh, 0, 0), t.slotOf(''));
  });

  it('slotOfBytes stays right after the remembered strings are forgotten (epoch moves on)', () => {
    const t = new SymbolTable(4);
    const epoch = t.epoch;
    for (let i = 0; i < 10; i++) t.slotOfBytes(utf8(`a${i}`), 0, 2);
    t.reset();
    assert.equal(t.epoch, epoch + 1);
    // Slots are handed out again from 0: the byte index must not name the old strings.
    for (let i = 9; i >= 0; i--) {
      const slot = t.slotOfBytes(utf8(`b${i}`), 0, 2);
      assert.equal(t.stringOfSlot(slot), `b${i}`);
      assert.equal(t.slotOf(`b${i}`), slot);
    }
    assert.equal(t.stringOfSlot(t.slotOfBytes(utf8('a3'), 0, 2)), 'a3');
    assert.equal(t.ref('a3'), 1);
  });

  it('slotOfBytes of bytes that are not UTF-8 gives the decoded (replacement) string every time', () => {
    const t = new SymbolTable();
    const bad = Uint8Array.from([0x61, 0xff, 0x62]);
    const slot = t.slotOfBytes(bad, 0, 3);
    assert.equal(t.stringOfSlot(slot), 'a\ufffdb');
    assert.equal(t.slotOfBytes(bad, 0, 3), slot);
    assert.equal(t.slotOf('a\ufffdb'), slot);
  });
});
