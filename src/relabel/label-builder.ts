/**
 * Prometheus' `labels.Builder` over promspool's flat label arrays ([name0, value0, name1, ...],
 * sorted by name): a base set plus added and deleted names. Relabeling goes through it so that
 * its observable behaviour is Prometheus' own, including the order `range` visits labels in
 * (base labels in order, then added ones in the order they were first set), which decides
 * which label wins when labelmap maps two names onto one.
 */
import { compareUtf8 } from '../serialization/label-order.js';

export class LabelBuilder {
  private base: readonly string[] = [];
  /** Added or changed labels, flat, in first-set order. */
  private readonly add: string[] = [];
  private readonly del: string[] = [];

  reset(base: readonly string[]): void {
    this.base = base;
    this.add.length = 0;
    this.del.length = 0;
  }

  /** The value of `name`, '' when absent. */
  get(name: string): string {
    const add = this.add;
    for (let i = 0; i < add.length; i += 2) if (add[i] === name) return add[i + 1];
    if (this.del.includes(name)) return '';
    const base = this.base;
    for (let i = 0; i < base.length; i += 2) if (base[i] === name) return base[i + 1];
    return '';
  }

  /** Sets `name` to `value`; an empty value deletes the label (as in Prometheus). */
  set(name: string, value: string): void {
    if (value === '') {
      this.delete(name);
      return;
    }
    const add = this.add;
    for (let i = 0; i < add.length; i += 2) {
      if (add[i] === name) {
        add[i + 1] = value;
        return;
      }
    }
    add.push(name, value);
  }

  delete(name: string): void {
    const add = this.add;
    for (let i = 0; i < add.length; i += 2) {
      if (add[i] === name) {
        add.splice(i, 2);
        break;
      }
    }
    this.del.push(name);
  }

  /**
   * Calls `f` on each label: base labels neither deleted nor overridden, then added ones. Sees the
   * labels as they were when called, whatever `f` sets or deletes.
   */
  range(f: (name: string, value: string) => void): void {
    const add = this.add.slice();
    const del = this.del.slice();
    const base = this.base;
    for (let i = 0; i < base.length; i += 2) {
      const name = base[i];
      if (del.includes(name) || flatHasName(add, name)) continue;
      f(name, base[i + 1]);
    }
    for (let i = 0; i < add.length; i += 2) f(add[i], add[i + 1]);
  }

  /**
   * The resulting labels, sorted by name in UTF-8 byte order: the base array itself when the
   * result has the same names and values (so callers can tell by identity that nothing changed).
   */
  labels(): readonly string[] {
    if (this.add.length === 0 && this.del.length === 0) return this.base;
    const base = this.base;
    const add = this.add;
    const del = this.del;
    // Added labels sorted by name, then merged with the (sorted) base labels that remain.
    const added: number[] = [];
    for (let i = 0; i < add.length; i += 2) added.push(i);
    if (added.length > 1) added.sort((x, y) => compareUtf8(add[x], add[y]));
    const out: string[] = [];
    let k = 0;
    for (let i = 0; i < base.length; i += 2) {
      const name = base[i];
      if (del.includes(name) || flatHasName(add, name)) continue;
      while (k < added.length && compareUtf8(add[added[k]], name) < 0) {
        out.push(add[added[k]], add[added[k] + 1]);
        k++;
      }
      out.push(name, base[i + 1]);
    }
    for (; k < added.length; k++) out.push(add[added[k]], add[added[k] + 1]);
    if (out.length === base.length && out.every((x, i) => x === base[i])) return base;
    return out;
  }
}

function flatHasName(flat: readonly string[], name: string): boolean {
  for (let i = 0; i < flat.length; i += 2) if (flat[i] === name) return true;
  return false;
}
