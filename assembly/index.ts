// Entry point of the WebAssembly crypto core: re-exports every module's public functions.
export { scratch, scratchBase } from "./arena";
