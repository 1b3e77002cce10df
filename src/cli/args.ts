import { QuireError } from "../util/errors.js";

/** A command-line usage error: printed as one line and exit code 2. */
export class UsageError extends QuireError<"USAGE"> {
  constructor(message: string) {
    super("USAGE", message);
  }
}

/** Parsed `--flag value`, `--flag=value` and `--switch` options plus positional words. */
export interface ParsedArgs {
  positional: string[];
  /** The last value of each flag (or `true` for a switch). */
  flags: Map<string, string | true>;
  /** Every value of each valued flag, in order (for repeatable flags such as `quire node --set`). */
  lists: Map<string, string[]>;
}

/**
 * Parses argv. `switches` names the flags that take no value; every other `--flag` takes the next word.
 * Unknown flags are rejected by `checkFlags` so typos never pass silently.
 */
export function parseArgs(argv: readonly string[], switches: readonly string[] = []): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  const lists = new Map<string, string[]>();
  const put = (name: string, value: string) => {
    flags.set(name, value);
    const l = lists.get(name);
    if (l === undefined) lists.set(name, [value]);
    else l.push(value);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith("--")) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    if (eq >= 0) put(name, a.slice(eq + 1));
    else if (switches.includes(name)) flags.set(name, true);
    else {
      const v = argv[i + 1];
      // A following `--word` is the next flag, not this one's value: `--rpc --json` is a mistake, said now.
      if (v === undefined || v.startsWith("--")) throw new UsageError(`--${name} needs a value`);
      put(name, v);
      i++;
    }
  }
  return { positional, flags, lists };
}

/** Throws a UsageError naming the first flag not in `allowed`. */
export function checkFlags(args: ParsedArgs, allowed: readonly string[]): void {
  for (const k of args.flags.keys()) if (!allowed.includes(k)) throw new UsageError(`unknown option --${k}`);
}

/** A string flag, or `def` when absent. */
export function stringFlag(args: ParsedArgs, name: string, def?: string): string | undefined {
  const v = args.flags.get(name);
  if (v === true) throw new UsageError(`--${name} needs a value`);
  return v ?? def;
}

/** A non-negative integer flag, or `def` when absent. */
export function intFlag(args: ParsedArgs, name: string, def?: number): number | undefined {
  const v = stringFlag(args, name);
  if (v === undefined) return def;
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new UsageError(`--${name} must be a non-negative integer, got "${v}"`);
  return Number(v);
}

/** One of a fixed set of choices, or `def` when absent. */
export function choiceFlag<T extends string>(args: ParsedArgs, name: string, choices: readonly T[], def: T): T {
  const v = stringFlag(args, name, def)!;
  if (!(choices as readonly string[]).includes(v)) throw new UsageError(`--${name} must be one of ${choices.join("|")}, got "${v}"`);
  return v as T;
}

/** Reads all of standard input as UTF-8. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
