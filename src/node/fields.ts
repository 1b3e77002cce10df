/**
 * Reading untrusted JSON documents (node configs, genesis) field by field, with errors that name the field. Every
 * reader takes the dotted path of the value it reads and throws a `NodeError` with that path on anything unexpected,
 * so "rpc.port must be an integer in [0, 65535], got 70000" reaches the operator instead of a stack trace.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { isHostName } from "../domain/address.js";
import { NodeError } from "./errors.js";
import type { NodeErrorCode } from "./errors.js";

/** A config file's text and absolute path; a file that cannot be read is `BAD_CONFIG` naming it. */
export async function readConfigFile(path: string): Promise<{ file: string; text: string }> {
  const file = resolve(path);
  try {
    return { file, text: await readFile(file, "utf8") };
  } catch (e) {
    throw new NodeError("BAD_CONFIG", `cannot read config file ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { file });
  }
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export class FieldReader {
  constructor(
    private readonly code: Extract<NodeErrorCode, "BAD_CONFIG" | "BAD_GENESIS">,
    readonly file: string,
  ) {}

  fail(field: string, message: string): never {
    throw new NodeError(this.code, `${this.file}: ${field}: ${message}`, { field, file: this.file });
  }

  /** `v` as an object whose keys are all in `allowed` (a typo never passes silently). */
  object(v: Json | undefined, field: string, allowed: readonly string[]): JsonObject {
    if (typeof v !== "object" || v === null || Array.isArray(v)) this.fail(field, `must be an object, got ${describe(v)}`);
    for (const k of Object.keys(v)) if (!allowed.includes(k)) this.fail(join(field, k), `unknown field (expected one of ${allowed.join(", ")})`);
    return v;
  }

  /** An optional object: `{}` when absent. */
  optObject(o: JsonObject, key: string, field: string, allowed: readonly string[]): JsonObject {
    const v = o[key];
    return v === undefined ? {} : this.object(v, join(field, key), allowed);
  }

  array(o: JsonObject, key: string, field: string, min: number, max: number): Json[] {
    const v = o[key];
    const f = join(field, key);
    if (!Array.isArray(v)) this.fail(f, `must be an array, got ${describe(v)}`);
    if (v.length < min || v.length > max) this.fail(f, `must have ${min}..${max} entries, got ${v.length}`);
    return v;
  }

  string(o: JsonObject, key: string, field: string, def?: string): string {
    const v = o[key];
    const f = join(field, key);
    if (v === undefined && def !== undefined) return def;
    if (typeof v !== "string" || v.length === 0) this.fail(f, `must be a non-empty string, got ${describe(v)}`);
    return v;
  }

  /** An integer in [min, max]; `def` when absent (required when `def` is undefined). */
  int(o: JsonObject, key: string, field: string, min: number, max: number, def?: number): number {
    const v = o[key];
    const f = join(field, key);
    if (v === undefined && def !== undefined) return def;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max) this.fail(f, `must be an integer in [${min}, ${max}], got ${describe(v)}`);
    return v;
  }

  number(o: JsonObject, key: string, field: string, min: number, max: number, def?: number): number {
    const v = o[key];
    const f = join(field, key);
    if (v === undefined && def !== undefined) return def;
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) this.fail(f, `must be a number in [${min}, ${max}], got ${describe(v)}`);
    return v;
  }

  choice<T extends string>(o: JsonObject, key: string, field: string, choices: readonly T[], def: T): T {
    const v = o[key];
    if (v === undefined) return def;
    if (typeof v !== "string" || !(choices as readonly string[]).includes(v)) this.fail(join(field, key), `must be one of ${choices.join("|")}, got ${describe(v)}`);
    return v as T;
  }

  /** Lower- or upper-case hex of exactly `bytes` bytes. */
  hex(o: JsonObject, key: string, field: string, bytes: number): Uint8Array {
    const v = o[key];
    const f = join(field, key);
    if (typeof v !== "string" || v.length !== bytes * 2 || !/^[0-9a-fA-F]*$/.test(v)) this.fail(f, `must be ${bytes * 2} hex digits, got ${describe(v)}`);
    return Uint8Array.from(Buffer.from(v, "hex"));
  }

  /** A host name or IP address (no scheme, no port). */
  host(o: JsonObject, key: string, field: string, def?: string): string {
    const h = this.string(o, key, field, def);
    if (!isHostName(h)) this.fail(join(field, key), `must be a host name or IP address, got ${describe(h)}`);
    return h;
  }
}

export function join(field: string, key: string | number): string {
  if (typeof key === "number") return `${field}[${key}]`;
  return field === "" ? key : `${field}.${key}`;
}

function describe(v: Json | undefined): string {
  if (v === undefined) return "nothing (the field is missing)";
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Parses `text` as JSON, failing with the file's error code. */
export function parseJsonDocument(text: string, reader: FieldReader): Json {
  try {
    return JSON.parse(text) as Json;
  } catch (e) {
    return reader.fail("(document)", `is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}
