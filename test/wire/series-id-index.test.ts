import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeriesIdIndex } from '../../src/wire/series-id-index.js';

test('SeriesIdIndex: absent ids are -1, stored values come back, in the array and past it', () => {
  const idx = new SeriesIdIndex();
  assert.equal(idx.get(0), -1);
  assert.equal(idx.get(5000), -1);
  idx.set(0, 7);
  idx.set(3000, 2 ** 40 + 5); // packed offset * 65536 + length exceeds 32 bits
  idx.set(2 ** 20 + 1, 11); // beyond the dense range: kept in the Map
  idx.set(0xfffffffe, 12);
  assert.equal(idx.get(0), 7);
  assert.equal(idx.get(1), -1);
  assert.equal(idx.get(3000), 2 ** 40 + 5);
  assert.equal(idx.get(2 ** 20 + 1), 11);
  assert.equal(idx.get(2 ** 20), -1);
  assert.equal(idx.get(0xfffffffe), 12);
  idx.set(3000, 9);
  assert.equal(idx.get(3000), 9);
});

test('SeriesIdIndex: clear forgets every id, and the index is usable again', () => {
  const idx = new SeriesIdIndex();
  for (let id = 0; id < 5000; id += 7) idx.set(id, id * 2);
  idx.set(2 ** 21, 1);
  idx.clear();
  for (let id = 0; id < 5000; id += 7) assert.equal(idx.get(id), -1);
  assert.equal(idx.get(2 ** 21), -1);
  idx.set(14, 3);
  assert.equal(idx.get(14), 3);
  assert.equal(idx.get(7), -1);
});
