/**
 * Parsing of path parameters and request headers. Every function throws an `HttpError` with the route's 400 code on
 * bad input; none of them trusts the URL to be well-formed.
 */
import { HttpError } from "./errors.js";
import { HASH_BYTES, MAX_UINT53 } from "../domain/limits.js";
import { fromHex } from "../util/bytes.js";
import { MAX_TITLE_BYTES } from "../chain/app/accounts/accountTx.js";

const TX_ID = /^[0-9a-fA-F]{64}$/;
// Canonical decimal: no sign, no leading zeros, no exponent; 16 digits at most (2^53 - 1 has 16).
const DECIMAL = /^(0|[1-9][0-9]{0,15})$/;

/** A tx id: exactly 64 hex digits (either case, no prefix). */
export function parseTxId(s: string): Uint8Array {
  if (!TX_ID.test(s)) throw new HttpError("BAD_TX_ID", `tx id must be ${2 * HASH_BYTES} hex digits`);
  return fromHex(s);
}

const PUBLIC_KEY = /^[0-9a-fA-F]{64}$/;

/** An Ed25519 account key: exactly 64 hex digits. */
export function parsePublicKey(s: string): Uint8Array {
  if (!PUBLIC_KEY.test(s)) throw new HttpError("BAD_PUBLIC_KEY", "public key must be 64 hex digits (32-byte Ed25519 key)");
  return fromHex(s);
}

function decimal(s: string): number | undefined {
  if (!DECIMAL.test(s)) return undefined;
  const n = Number(s);
  return n <= MAX_UINT53 ? n : undefined;
}

/** A block height: a canonical decimal integer in [0, 2^53 - 1], or `latest` when `allowLatest`. */
export function parseHeight(s: string, allowLatest: boolean): number | "latest" {
  if (allowLatest && s === "latest") return "latest";
  const n = decimal(s);
  if (n === undefined) throw new HttpError("BAD_HEIGHT", `height must be a decimal integer in [0, 2^53)${allowLatest ? ' or "latest"' : ""}`);
  return n;
}

/**
 * Most heights one `GET /v1/blocks?from=H&to=H2` answers. A block document is ≈ 0.8 KB, so 256 of them are ≈ 200 KB
 * of JSON rendered in a few ms of the node's event loop; 2,000 heights are 8 requests per node. The same bound as a
 * sync response's blocks.
 */
export const DEFAULT_MAX_RANGE_BLOCKS = 256;

/** An inclusive range of heights. */
export interface HeightRange {
  readonly from: number;
  readonly to: number;
}

/**
 * The query of `GET /v1/blocks`: `from=H` (required) and `to=H2` (default `from + max - 1`), canonical decimals
 * (BAD_HEIGHT otherwise), nothing else, each once, `from <= to` and at most `max` heights (BAD_RANGE otherwise).
 */
export function parseRange(query: string, max: number): HeightRange {
  const values = new Map<string, number>();
  for (const part of query === "" ? [] : query.split("&")) {
    const eq = part.indexOf("=");
    const key = eq < 0 ? part : part.slice(0, eq);
    if (key !== "from" && key !== "to") throw new HttpError("BAD_RANGE", `unknown query parameter "${key.slice(0, 32)}"; use from=H and to=H`);
    if (values.has(key)) throw new HttpError("BAD_RANGE", `${key} is given twice`);
    const n = eq < 0 ? undefined : decimal(part.slice(eq + 1));
    if (n === undefined) throw new HttpError("BAD_HEIGHT", `${key} must be a decimal integer in [0, 2^53)`);
    values.set(key, n);
  }
  const from = values.get("from");
  if (from === undefined) throw new HttpError("BAD_RANGE", "from=H is required");
  const to = values.get("to") ?? Math.min(from + max - 1, MAX_UINT53);
  if (to < from) throw new HttpError("BAD_RANGE", `to (${to}) is below from (${from})`);
  if (to - from + 1 > max) throw new HttpError("BAD_RANGE", `${to - from + 1} heights asked; at most ${max} per request`);
  return { from, to };
}

/** A transaction index within a block: a canonical decimal integer in [0, 2^53 - 1]. */
export function parseIndex(s: string): number {
  const n = decimal(s);
  if (n === undefined) throw new HttpError("BAD_INDEX", "index must be a decimal integer in [0, 2^53)");
  return n;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

const encoder = new TextEncoder();

/**
 * A KV key from its URL path segment: percent-encoded bytes (RFC 3986). `%XX` is the byte 0xXX, any other character
 * stands for its UTF-8 encoding, so `encodeURIComponent(text)` gives a text key and `%00%ff...` any binary key.
 * `+` is a plus sign (this is a path, not a form). A `%` not followed by two hex digits, or an empty key, is BAD_KEY.
 */
export function parseKey(segment: string): Uint8Array {
  if (segment.length === 0) throw new HttpError("BAD_KEY", "key must not be empty");
  const out: number[] = [];
  let plain = "";
  const flush = (): void => {
    if (plain.length > 0) {
      for (const b of encoder.encode(plain)) out.push(b);
      plain = "";
    }
  };
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i);
    if (c !== 37 /* % */) {
      plain += segment[i];
      continue;
    }
    const hi = hexDigit(segment.charCodeAt(i + 1));
    const lo = hexDigit(segment.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) throw new HttpError("BAD_KEY", `bad percent escape at offset ${i} of the key`);
    flush();
    out.push((hi << 4) | lo);
    i += 2;
  }
  flush();
  return Uint8Array.from(out);
}

/** The media type of a Content-Type header: lower-cased, parameters dropped (`"Application/JSON; charset=utf-8"` → `"application/json"`). */
export function mediaType(contentType: string): string {
  const semi = contentType.indexOf(";");
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

/** The Content-Length header as a number, or undefined when absent (uWS has already refused malformed values). */
export function contentLength(header: string): number | undefined {
  if (header === "") return undefined;
  const n = Number(header);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** A para chain's title from its path segment (percent-encoded UTF-8, as `encodeURIComponent` gives): BAD_TITLE. */
export function parseTitle(segment: string): string {
  let title: string;
  try {
    title = decodeURIComponent(segment);
  } catch {
    throw new HttpError("BAD_TITLE", "the title is not percent-encoded UTF-8");
  }
  const n = encoder.encode(title).length;
  if (n === 0 || n > MAX_TITLE_BYTES) throw new HttpError("BAD_TITLE", `a title is 1..${MAX_TITLE_BYTES} bytes of UTF-8`);
  return title;
}
