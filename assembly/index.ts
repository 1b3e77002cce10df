// Entry point of the WebAssembly crypto core: re-exports every module's public functions.
export { scratch, scratchBase } from "./arena";
export * from "./sha256";
export * from "./merkle";
export * from "./bitmap";
