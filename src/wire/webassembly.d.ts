/**
 * The part of the WebAssembly JavaScript API that rw1-raw-scan-wasm.ts uses: Node has the API,
 * but @types/node 20 does not declare it and the DOM library would declare far more.
 */
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports?: object);
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    readonly buffer: ArrayBuffer;
    grow(pages: number): number;
  }
  class Global {
    readonly value: unknown;
  }
}
