// The slice of the WebAssembly JS API that Quire uses. TypeScript ships these types only in lib.dom, which would
// bring browser globals into a Node project, and @types/node does not declare them.
declare namespace WebAssembly {
  type ImportValue = ((...args: never[]) => unknown) | Memory | Global | Table | number;
  type Imports = Record<string, Record<string, ImportValue>>;
  type Exports = Record<string, unknown>;
  interface ModuleImportDescriptor {
    module: string;
    name: string;
    kind: "function" | "table" | "memory" | "global" | "tag";
  }
  interface ModuleExportDescriptor {
    name: string;
    kind: "function" | "table" | "memory" | "global" | "tag";
  }
  class Module {
    constructor(bytes: BufferSource);
    static imports(module: Module): ModuleImportDescriptor[];
    static exports(module: Module): ModuleExportDescriptor[];
  }
  class Instance {
    constructor(module: Module, imports?: Imports);
    readonly exports: Exports;
  }
  interface MemoryDescriptor {
    initial: number;
    maximum?: number;
    shared?: boolean;
  }
  class Memory {
    constructor(descriptor: MemoryDescriptor);
    readonly buffer: ArrayBuffer;
    grow(delta: number): number;
  }
  class Global {
    value: unknown;
  }
  class Table {
    readonly length: number;
  }
  class CompileError extends Error {}
  class LinkError extends Error {}
  class RuntimeError extends Error {}
  function validate(bytes: BufferSource): boolean;
  function compile(bytes: BufferSource): Promise<Module>;
  function instantiate(module: Module, imports?: Imports): Promise<Instance>;
}
