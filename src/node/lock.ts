/**
 * One process per validator: exclusive lock files on the data directory and on the key file (issue 11, item 5).
 * Two processes running one validator's key sign conflicting votes (equivocation); two on one data directory corrupt
 * each other's safety state. Node has no flock(2), so a lock is a file whose creation is atomic and exclusive:
 *
 *   acquire: write {pid, host, bootId, procStart, startedAt, nonce} to a private temp file, fsync, then link(2) it to
 *            the lock path. link fails with EEXIST when the path exists, so exactly one process creates the lock, and
 *            the lock appears with its whole content (an O_EXCL create followed by a write would leave a window where
 *            another starter reads an empty file, and an empty file forever if we die inside it).
 *   held:    the path exists and its holder is alive → `LockError("LOCKED")` naming the holder's pid, host, start time
 *            and the lock file. The node exits 1 with that message before it opens its store or binds a port.
 *   release: on a clean stop the holder removes the file — only if it still holds its own nonce.
 *
 * Staleness (a holder that died without releasing: kill -9, power loss). The lock is stale when its holder provably
 * is not running: same host name and (a) the kernel's boot id differs (every pid is from an earlier boot), or (b) no
 * process has that pid (kill(pid, 0) fails with ESRCH), or (c) the process with that pid started at another time than
 * the holder did (field 22 of /proc/PID/stat, in clock ticks since boot: the pid was reused). Anything else — another
 * host (a data directory on shared storage), a lock we cannot parse, a pid we may not signal (EPERM: it exists) — is
 * treated as held: refusing a start is recoverable by an operator, two signers are not.
 *
 * Takeover of a stale lock is a compare-and-swap on the file: rename(2) the lock to a private name (atomic; of several
 * contenders exactly one moves a given file), check that the file moved is the very one judged stale (its nonce),
 * then link our own lock as in acquire. If the moved file is not the stale one (another contender took over between
 * our read and our rename), it is linked back and we start over, finding it held. With two contenders this is exact.
 * With three starting within microseconds of each other over a stale lock it is not: B can move A's fresh lock aside
 * by mistake, C link its own into the gap, B's link-back then fail — and A and C both run. Starting one validator
 * three times at once after a crash is the case left open; a kernel lock (flock) would close it, Node has none.
 *
 * The key's lock lives next to the key file as resolved through symlinks (so a symlinked key shared by two data
 * directories is one lock): two configs naming one key through different data directories are caught only there. A
 * key directory we cannot write (a read-only secrets mount) cannot hold it: the node then starts with the data
 * directory's lock alone and says so (`lockValidator`'s `warnings`).
 */
import { randomBytes } from "node:crypto";
import { link, open, readFile, realpath, rename, unlink } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import { QuireError } from "../util/errors.js";

export type LockErrorCode =
  /** Another live process holds the lock (or one we cannot prove dead: another host, an unreadable lock). */
  | "LOCKED"
  /** The lock file could not be created (a missing or read-only directory). */
  | "LOCK_FAILED";

export interface LockErrorPayload {
  readonly file: string;
  readonly holder?: LockHolder;
}

export class LockError extends QuireError<LockErrorCode, LockErrorPayload> {}

/** What a lock file holds. */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  /** The kernel's boot id (Linux /proc/sys/kernel/random/boot_id), "" where there is none. */
  readonly bootId: string;
  /** The holder's start in clock ticks since boot (field 22 of /proc/PID/stat), -1 where there is none. */
  readonly procStart: number;
  /** Wall-clock start of the holder, ISO 8601 (for people). */
  readonly startedAt: string;
  /** Random, per acquisition: tells two locks of one pid apart and lets release remove only its own. */
  readonly nonce: string;
  /** What the lock protects, e.g. "data directory" (for the message). */
  readonly what: string;
}

/** A lock this process holds. */
export class FileLock {
  private released = false;

  private constructor(
    readonly file: string,
    readonly holder: LockHolder,
    /** The stale holder this acquisition took over, if any (for the log). */
    readonly tookOver: LockHolder | undefined,
  ) {}

  /** Takes the lock at `file` (created if absent, taken over if stale) or throws `LockError`. */
  static async acquire(file: string, what: string): Promise<FileLock> {
    const me = selfHolder(what);
    let tookOver: LockHolder | undefined;
    // Bounded: each round either creates the lock, finds it held (throws), or removes one stale lock.
    for (let round = 0; round < 8; round++) {
      if (await createExclusive(file, me)) return new FileLock(file, me, tookOver);
      const current = await readHolder(file);
      if (current === "missing") continue; // released between our link and our read: try again
      if (current === "unreadable" || !isStale(current)) throw heldError(file, current === "unreadable" ? undefined : current);
      if (await takeOver(file, current)) tookOver = current;
    }
    throw new LockError("LOCKED", `${file}: could not take the lock (it keeps changing hands)`, { file });
  }

  /** Removes the lock file if it is still ours. Idempotent; never throws. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    try {
      const current = await readHolder(this.file);
      if (typeof current === "object" && current.nonce === this.holder.nonce) await unlink(this.file);
    } catch {
      // Best effort: a lock left behind is stale once we are gone, and the next start takes it over.
    }
  }
}

/**
 * Takes both of a validator's locks (data directory first), releasing the first if the second is held. A key in a
 * directory we may not write (read-only mount, EROFS/EACCES/EPERM) gets no lock of its own: `warnings` says so.
 */
export async function lockValidator(dataDir: string, keyFile: string): Promise<{ locks: FileLock[]; warnings: string[] }> {
  const data = await FileLock.acquire(join(dataDir, "quire.lock"), "data directory");
  try {
    const key = await realpath(keyFile).catch(() => keyFile);
    try {
      return { locks: [data, await FileLock.acquire(`${key}.lock`, "validator key")], warnings: [] };
    } catch (e) {
      if (!(e instanceof LockError && e.code === "LOCK_FAILED" && /EROFS|EACCES|EPERM/.test(e.message))) throw e;
      return { locks: [data], warnings: [`the key file's directory is not writable, so the key has no lock of its own (${e.message}); only the data directory is locked`] };
    }
  } catch (e) {
    await data.release();
    throw e;
  }
}

function heldError(file: string, holder: LockHolder | undefined): LockError {
  if (holder === undefined) return new LockError("LOCKED", `${file} exists but does not name its holder: another process may run this validator; remove the file only if none does`, { file });
  const where = holder.host === hostname() ? "" : ` on host ${holder.host}`;
  return new LockError(
    "LOCKED",
    `${holder.what} is in use by pid ${holder.pid}${where} (started ${holder.startedAt}): lock file ${file}. One process per validator: stop that one first` +
      (where === "" ? "" : ` (a lock from another host cannot be checked here; remove it only if that process is gone)`),
    { file, holder },
  );
}

/** link(2) a fully written temp file to `file`; false if `file` exists. */
async function createExclusive(file: string, me: LockHolder): Promise<boolean> {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${me.nonce}.tmp`);
  let fh;
  try {
    fh = await open(tmp, "wx", 0o644);
  } catch (e) {
    throw new LockError("LOCK_FAILED", `cannot create a lock next to ${file}: ${(e as Error).message}`, { file });
  }
  try {
    await fh.writeFile(JSON.stringify(me) + "\n");
    await fh.sync();
    await fh.close();
    fh = undefined;
    await link(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw new LockError("LOCK_FAILED", `cannot create ${file}: ${(e as Error).message}`, { file });
  } finally {
    await fh?.close().catch(() => {});
    await unlink(tmp).catch(() => {});
  }
}

async function readHolder(file: string): Promise<LockHolder | "missing" | "unreadable"> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT" ? "missing" : "unreadable";
  }
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (typeof v.pid !== "number" || typeof v.host !== "string" || typeof v.nonce !== "string" || typeof v.startedAt !== "string") return "unreadable";
    return { pid: v.pid, host: v.host, bootId: String(v.bootId ?? ""), procStart: typeof v.procStart === "number" ? v.procStart : -1, startedAt: v.startedAt, nonce: v.nonce, what: String(v.what ?? "lock") };
  } catch {
    return "unreadable";
  }
}

/** Rename-and-check takeover (see the file comment). True if we removed `stale`. */
async function takeOver(file: string, stale: LockHolder): Promise<boolean> {
  const grave = join(dirname(file), `.${basename(file)}.stale.${process.pid}.${randomBytes(6).toString("hex")}`);
  try {
    await rename(file, grave);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false; // someone else moved it
    throw new LockError("LOCK_FAILED", `cannot take over the stale lock ${file}: ${(e as Error).message}`, { file, holder: stale });
  }
  const moved = await readHolder(grave);
  if (typeof moved === "object" && moved.nonce === stale.nonce) {
    await unlink(grave).catch(() => {});
    return true;
  }
  // We moved a lock another contender had just taken: put it back (link fails only if yet another lock appeared).
  await link(grave, file).catch(() => {});
  await unlink(grave).catch(() => {});
  return false;
}

/** Whether `h`'s process provably is not running (see the file comment). */
export function isStale(h: LockHolder): boolean {
  if (h.host !== hostname()) return false;
  const boot = bootId();
  if (boot !== "" && h.bootId !== "" && boot !== h.bootId) return true;
  if (!Number.isInteger(h.pid) || h.pid <= 0) return false;
  try {
    process.kill(h.pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH";
  }
  // A process with that pid runs: the holder only if it started when the holder did.
  const start = procStart(h.pid);
  return h.procStart >= 0 && start >= 0 && start !== h.procStart;
}

function selfHolder(what: string): LockHolder {
  return {
    pid: process.pid,
    host: hostname(),
    bootId: bootId(),
    procStart: procStart(process.pid),
    startedAt: new Date(Date.now() - process.uptime() * 1000).toISOString(),
    nonce: randomBytes(8).toString("hex"),
    what,
  };
}

function bootId(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return "";
  }
}

/** Field 22 (starttime) of /proc/PID/stat; -1 where /proc is absent. The command name (field 2) may hold spaces. */
function procStart(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const v = Number(fields[19]);
    return Number.isFinite(v) ? v : -1;
  } catch {
    return -1;
  }
}
