// Entry point of the WebAssembly crypto core: re-exports every module's public functions.
export { scratch, scratchBase } from "./arena";
export * from "./sha256";
export * from "./merkle";
// The bitmap files export helpers to each other; only these are the core's bitmap API (wasmCodec.ts, wasmBitset.ts).
export { bitmapDecodedLength, bitmapErrorOffset } from "./bitmap/common";
export { bitsetAnd, bitsetAndNot, bitsetClear, bitsetCount, bitsetGet, bitsetIndices, bitsetOr, bitsetSet, bitsetSetRange, bitsetXor } from "./bitmap/bitset";
export { bitmapEncode, bitmapEncodeList, bitmapMaxEncodedSize } from "./bitmap/encode";
export { bitmapDecode, bitmapDecodeList } from "./bitmap/decode";
export { roaringExport, roaringHeader, roaringImport, roaringMaxSize } from "./bitmap/roaring";
