/**
 * Relabel regexes with Go/RE2 semantics, fully anchored as Prometheus anchors them (`^(?s:re)$`).
 *
 * Every pattern is compiled by RE2 (re2-wasm, Google's RE2 in WebAssembly): RE2 alone decides
 * what is valid, so backreferences, lookaround and possessive quantifiers are refused as
 * Prometheus refuses them. Then, when the pattern lies in a checked safe subset (see
 * regex-translate.ts), it is also translated to a JavaScript RegExp, which runs it 40-400x faster.
 * Measured on this machine (Node 20, 2 vCPU; test/relabel/bench-relabel.ts, medians of 5, 20-40
 * byte inputs, patterns `(.*)_total`, `foo_(.+)`, `(.+?)(\:\d+)?;(\d+)`, `go_.*|process_.*`):
 * JS RegExp 25-91 ns per test, 37-178 ns per exec with groups; re2-wasm 2.7-3.7 us per test,
 * 2.9-29 us per exec (captures through RE2's NFA are the slow ones). The native `re2` package was
 * not considered: its node-gyp build costs ~67 s on every clean install.
 *
 * RE2 runs in time linear in the input; a backtracking engine does not. The translation never
 * repeats a group (except `?` on a non-empty one), so its backtracking paths are bounded by the
 * product of its quantifiers' choices: (n+1) per unbounded quantifier on an input of n code units,
 * (max-min+1) per bounded one, k per k-way alternation. An input longer than the length that
 * keeps this product under {@link BACKTRACK_BUDGET} goes to RE2 instead, so no input can make a
 * relabel rule slow. Measured worst cases at the limit (adversarial `___...`): `(.*)_(.*)x` takes
 * inputs up to 446 code units, 0.13 ms (RE2: 0.97 ms); `(.*)_(.*)_(.*)x` up to 57, 0.06 ms;
 * `.*a.*b.*c.*d` would allow only 20, so it stays on RE2.
 */
import { createRequire } from 'node:module';
import { type Re2Scan, scanRe2 } from './regex-scan.js';
import { translateToJs } from './regex-translate.js';

/** Which engine runs a pattern (for tests and diagnostics). */
export type RegexEngine = 'js' | 're2';

/** At most this many backtracking paths per match on the JavaScript engine. */
export const BACKTRACK_BUDGET = 200_000;

/** A pattern whose JS engine would only take inputs shorter than this stays on RE2. */
const MIN_USEFUL_JS_INPUT = 32;

/** A compiled relabel regex. */
export interface RelabelRegex {
  /** The pattern as written (unanchored). */
  readonly source: string;
  /** 'js' when translated (inputs up to {@link jsMaxInput} code units run on it), else 're2'. */
  readonly engine: RegexEngine;
  /** Longest input (UTF-16 code units) the JavaScript engine runs; 0 on 're2'. */
  readonly jsMaxInput: number;
  /** Go's `SubexpNames()`: '' for the whole match and for unnamed groups. */
  readonly subexpNames: readonly string[];
  /** Whether the whole of `s` matches. */
  test(s: string): boolean;
  /** The groups of a whole-string match (index 0 = `s`; undefined = group did not take part), or null. */
  exec(s: string): readonly (string | undefined)[] | null;
  /**
   * Frees the RE2 copy now instead of at garbage collection (see RE2_HEAP_NOTE); the regex stays
   * usable and compiles RE2 again if it needs it.
   */
  dispose(): void;
}

/** A regex that RE2 (or Go) refuses. */
export class RelabelRegexError extends Error {
  constructor(
    readonly regex: string,
    readonly reason: string,
  ) {
    super(`error parsing regexp ${JSON.stringify(regex)}: ${reason}`);
    this.name = 'RelabelRegexError';
  }
}

interface WrappedRE2 {
  ok(): boolean;
  error(): string;
  match(input: string, start: number, captures: boolean): { index: number; groups: (string | undefined)[] };
  delete(): void;
}
type WrappedRE2Constructor = new (
  pattern: string,
  ignoreCase: boolean,
  multiline: boolean,
  dotAll: boolean,
) => WrappedRE2;

// The embind class directly, not re2-wasm's RE2 wrapper: that one rewrites JavaScript syntax into
// RE2's (`\u0041`, `\cA`), which Go does not accept. Loaded on first use: requiring the module
// instantiates its heap (+11 MB of RSS), which a thread that imports the relabel code but compiles
// no pattern (the relay scan worker without write relabel rules) must not pay.
let wrappedRE2: WrappedRE2Constructor | undefined;
function re2Class(): WrappedRE2Constructor {
  wrappedRE2 ??= (createRequire(import.meta.url)('re2-wasm/build/wasm/re2.js') as { WrappedRE2: WrappedRE2Constructor })
    .WrappedRE2;
  return wrappedRE2;
}

// RE2_HEAP_NOTE: re2-wasm's heap is a fixed 16 MiB that cannot grow, and running out aborts the
// module for the life of the process. Measured: ~2.2 KB per compiled typical relabel regex (7,138
// fit), but a pattern whose DFA explodes (`(?:a|b)*a(?:a|b){12}x`) takes ~550 KB once used (27
// fit). So RE2 copies are kept only where needed (patterns not translated, inputs beyond the JS
// budget), freed by dispose() on a config reload, and by garbage collection as a backstop.
// WebAssembly memory is not garbage collected: free an RE2 when its regex object goes.
const re2Finalizer = new FinalizationRegistry<WrappedRE2>((w) => w.delete());

function compileRe2(pattern: string): WrappedRE2 | string {
  const w = new (re2Class())(pattern, false, false, false);
  if (w.ok()) return w;
  const error = w.error();
  w.delete();
  return error;
}

/** RE2's number of capturing groups in `re2Source` (a pattern RE2 accepted). */
function re2GroupCount(re2Source: string): number {
  const w = compileRe2(`(?:${re2Source})|`);
  if (typeof w === 'string') throw new Error(`RE2 refused a pattern it had accepted: ${w}`);
  try {
    return w.match('', 0, true).groups.length;
  } finally {
    w.delete();
  }
}

/**
 * Compiles `source` as Prometheus does (`^(?s:source)$`), choosing the engine.
 * @throws RelabelRegexError when the pattern is invalid.
 */
export function compileRelabelRegex(source: string): RelabelRegex {
  const { scan, anchored, re2, groups } = compileOnRe2(source);
  const js = jsEquivalent(scan.re2Source, groups);
  if (js !== undefined) {
    // RE2 is only needed again for inputs longer than the JS budget: free its memory until then
    // (see RE2_HEAP_NOTE).
    re2.delete();
    return new CompiledRegex(source, scan.names, anchored, undefined, js);
  }
  return new CompiledRegex(source, scan.names, anchored, re2, undefined);
}

/**
 * Checks `source` without keeping anything compiled: the RE2 error, or undefined when valid.
 * The config reader uses this so that validation leaves nothing in RE2's heap.
 */
export function relabelRegexProblem(source: string): string | undefined {
  try {
    compileOnRe2(source).re2.delete();
    return undefined;
  } catch (e) {
    if (e instanceof RelabelRegexError) return e.message;
    throw e;
  }
}

function compileOnRe2(source: string): { scan: Re2Scan; anchored: string; re2: WrappedRE2; groups: number } {
  const scan = scanRe2(source);
  if (scan.error !== undefined) throw new RelabelRegexError(source, scan.error);
  const anchored = `^(?s:${scan.re2Source})$`;
  const re2 = compileRe2(anchored);
  if (typeof re2 === 'string') {
    // RE2 quotes the whole anchored pattern in some errors: show what the user wrote instead.
    throw new RelabelRegexError(source, re2.split(anchored).join(source));
  }
  const groups = re2GroupCount(scan.re2Source);
  if (groups !== scan.names.length - 1) {
    re2.delete();
    throw new Error(`relabel regex ${JSON.stringify(source)}: ${groups} groups in RE2, ${scan.names.length - 1} found`);
  }
  return { scan, anchored, re2, groups };
}

/** The JavaScript RegExp and its longest input, when the pattern translates within budget. */
function jsEquivalent(re2Source: string, groups: number): { re: RegExp; maxInput: number } | undefined {
  const t = translateToJs(re2Source);
  if (t === undefined || t.groups !== groups || t.fixedChoices > BACKTRACK_BUDGET) return undefined;
  const maxInput =
    t.unbounded === 0
      ? Number.POSITIVE_INFINITY
      : Math.floor((BACKTRACK_BUDGET / t.fixedChoices) ** (1 / t.unbounded)) - 1;
  if (maxInput < MIN_USEFUL_JS_INPUT) return undefined;
  try {
    return { re: new RegExp(`^(?:${t.source})$`, 'su'), maxInput };
  } catch {
    // A translation JavaScript refuses is a translator gap, not a user error: RE2 runs it.
    return undefined;
  }
}

class CompiledRegex implements RelabelRegex {
  readonly engine: RegexEngine;
  readonly jsMaxInput: number;
  private readonly js: RegExp | undefined;
  private re2: WrappedRE2 | undefined;

  constructor(
    readonly source: string,
    readonly subexpNames: readonly string[],
    private readonly anchored: string,
    re2: WrappedRE2 | undefined,
    js: { re: RegExp; maxInput: number } | undefined,
  ) {
    this.engine = js === undefined ? 're2' : 'js';
    this.js = js?.re;
    this.jsMaxInput = js?.maxInput ?? 0;
    if (re2 !== undefined) this.adoptRe2(re2);
  }

  test(s: string): boolean {
    if (this.js !== undefined && s.length <= this.jsMaxInput) return this.js.test(s);
    return this.onRe2().match(s, 0, false).index >= 0;
  }

  exec(s: string): readonly (string | undefined)[] | null {
    if (this.js !== undefined && s.length <= this.jsMaxInput) return this.js.exec(s);
    return this.execRe2(s);
  }

  dispose(): void {
    if (this.re2 === undefined) return;
    re2Finalizer.unregister(this);
    this.re2.delete();
    this.re2 = undefined;
  }

  /** Runs on RE2 whatever the input (for the differential test and benchmarks). */
  execRe2(s: string): readonly (string | undefined)[] | null {
    const m = this.onRe2().match(s, 0, true);
    return m.index < 0 ? null : [s, ...m.groups];
  }

  private onRe2(): WrappedRE2 {
    if (this.re2 !== undefined) return this.re2;
    const re2 = compileRe2(this.anchored);
    if (typeof re2 === 'string') throw new Error(`RE2 refused a pattern it had accepted: ${re2}`);
    return this.adoptRe2(re2);
  }

  private adoptRe2(re2: WrappedRE2): WrappedRE2 {
    this.re2 = re2;
    re2Finalizer.register(this, re2, this);
    return re2;
  }
}

/** Runs `regex` on RE2 whatever its engine (differential tests and benchmarks). */
export function execOnRe2(regex: RelabelRegex, s: string): readonly (string | undefined)[] | null {
  if (!(regex instanceof CompiledRegex)) throw new TypeError('not a compiled relabel regex');
  return regex.execRe2(s);
}
