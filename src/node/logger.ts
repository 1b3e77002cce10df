/**
 * The node's log: one line per event on stderr, `<ISO time> <LEVEL> <message> key=value ...`, filtered by level.
 * Values are JSON-encoded when they are not plain words, so a line stays one line whatever a peer sent.
 */
import type { RpcLogger } from "../rpc/api.js";
import type { LogLevel } from "./config.js";

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export type LogFields = Record<string, unknown>;

export interface Logger extends RpcLogger {
  info(msg: string, fields?: LogFields): void;
}

export class LineLogger implements Logger {
  private readonly min: number;

  constructor(
    level: LogLevel,
    private readonly prefix: string,
    private readonly write: (line: string) => void = (l) => process.stderr.write(l),
    private readonly clock: () => number = Date.now,
  ) {
    this.min = RANK[level];
  }

  debug(msg: string, fields?: LogFields): void {
    this.log("debug", msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.log("info", msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.log("warn", msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.log("error", msg, fields);
  }

  private log(level: LogLevel, msg: string, fields: LogFields | undefined): void {
    if (RANK[level] < this.min) return;
    let line = `${new Date(this.clock()).toISOString()} ${level.toUpperCase().padEnd(5)} ${this.prefix}${msg}`;
    if (fields !== undefined) for (const [k, v] of Object.entries(fields)) line += ` ${k}=${render(v)}`;
    this.write(line + "\n");
  }
}

function render(v: unknown): string {
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (typeof v === "string" && /^[\w.:/@+-]*$/.test(v) && v.length > 0) return v;
  if (v instanceof Error) return JSON.stringify(v.message);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return JSON.stringify(String(v));
  }
}

export const SILENT: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
