/**
 * The validator locks (src/node/lock.ts) on real files in a temp directory: exclusive acquire, the holder named in the
 * refusal, release, and takeover of stale locks (a dead pid, a reused pid, another boot) but never of a live one or of
 * one from another host.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { FileLock, lockValidator, LockError } from "../../../src/node/lock.js";
import type { LockHolder } from "../../../src/node/lock.js";

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "quire-lock-"));
}

/** A pid that is certainly dead: a child that already exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", ""]);
  assert.ok(r.pid !== undefined && r.pid > 0);
  return r.pid;
}

function writeHolder(file: string, over: Partial<LockHolder>): void {
  const h: LockHolder = { pid: process.pid, host: hostname(), bootId: "", procStart: -1, startedAt: "2026-01-01T00:00:00.000Z", nonce: "feedfeedfeedfeed", what: "data directory", ...over };
  writeFileSync(file, JSON.stringify(h));
}

test("a lock is exclusive: the second acquire fails naming the holder's pid and the file; release frees it", async () => {
  const dir = tempDir();
  try {
    const file = join(dir, "quire.lock");
    const a = await FileLock.acquire(file, "data directory");
    assert.equal(JSON.parse(readFileSync(file, "utf8")).pid, process.pid);
    await assert.rejects(FileLock.acquire(file, "data directory"), (e: unknown) => {
      assert.ok(e instanceof LockError);
      assert.equal(e.code, "LOCKED");
      assert.match(e.message, new RegExp(`data directory is in use by pid ${process.pid} \\(started .*\\): lock file ${file}`));
      assert.equal(e.payload.holder?.pid, process.pid);
      return true;
    });
    await a.release();
    assert.equal(existsSync(file), false);
    const b = await FileLock.acquire(file, "data directory");
    await b.release();
    await b.release(); // idempotent
    assert.deepEqual(readdirSync(dir), [], "no temp files left behind");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a stale lock (dead pid, reused pid, earlier boot) is taken over; a live or foreign one is not", async () => {
  const dir = tempDir();
  try {
    const file = join(dir, "quire.lock");
    const dead = deadPid();
    writeHolder(file, { pid: dead });
    const a = await FileLock.acquire(file, "data directory");
    assert.equal(a.tookOver?.pid, dead);
    assert.equal(JSON.parse(readFileSync(file, "utf8")).pid, process.pid);
    await a.release();

    // Our own pid, but a process start time that is not ours: the pid was reused after the holder died.
    writeHolder(file, { pid: process.pid, procStart: 1 });
    const b = await FileLock.acquire(file, "data directory");
    assert.equal(b.tookOver?.procStart, 1);
    await b.release();

    // Another boot: every pid recorded then is gone.
    if (existsSync("/proc/sys/kernel/random/boot_id")) {
      writeHolder(file, { pid: process.pid, bootId: "00000000-0000-0000-0000-000000000000" });
      const c = await FileLock.acquire(file, "data directory");
      assert.ok(c.tookOver !== undefined);
      await c.release();
    }

    // A live holder with matching start time (ourselves, as another process would see us): held.
    const live = await FileLock.acquire(file, "data directory");
    await assert.rejects(FileLock.acquire(file, "data directory"), /in use by pid/);
    await live.release();

    // Another host: liveness cannot be checked from here, so it is held whatever its pid.
    writeHolder(file, { pid: dead, host: "some-other-host" });
    await assert.rejects(FileLock.acquire(file, "data directory"), (e: unknown) => e instanceof LockError && e.code === "LOCKED" && /on host some-other-host/.test(e.message));
    // An unreadable lock: held too (never guess that a signer is gone).
    writeFileSync(file, "not json");
    await assert.rejects(FileLock.acquire(file, "data directory"), (e: unknown) => e instanceof LockError && /does not name its holder/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("two contenders for one stale lock: exactly one gets it", async () => {
  const dir = tempDir();
  try {
    const file = join(dir, "quire.lock");
    for (let round = 0; round < 20; round++) {
      writeHolder(file, { pid: deadPid(), nonce: `stale${round}` });
      const results = await Promise.allSettled([FileLock.acquire(file, "data directory"), FileLock.acquire(file, "data directory")]);
      const won = results.filter((r) => r.status === "fulfilled");
      assert.equal(won.length, 1, `round ${round}: ${results.map((r) => r.status).join(", ")}`);
      const lost = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
      assert.ok(lost.reason instanceof LockError && lost.reason.code === "LOCKED", String(lost.reason));
      await (won[0] as PromiseFulfilledResult<FileLock>).value.release();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("lockValidator takes the data-directory and key locks; a held key lock releases the data lock again", async () => {
  const dir = tempDir();
  try {
    const keyFile = join(dir, "validator.key");
    writeFileSync(keyFile, "{}");
    const { locks, warnings } = await lockValidator(dir, keyFile);
    assert.deepEqual(locks.map((l) => l.file), [join(dir, "quire.lock"), `${keyFile}.lock`]);
    assert.deepEqual(warnings, []);
    // The same key through a symlink from another data directory: one key, one lock (resolved through the link).
    const linked = join(dir, "linked");
    mkdirSync(linked);
    symlinkSync(keyFile, join(linked, "validator.key"));
    await assert.rejects(lockValidator(linked, join(linked, "validator.key")), /validator key is in use by pid/);
    for (const l of locks) await l.release();

    // Another data directory, same key: refused on the key, and the data lock it took is given back.
    const other = join(dir, "other");
    const keyLock = await FileLock.acquire(`${keyFile}.lock`, "validator key");
    mkdirSync(other);
    await assert.rejects(lockValidator(other, keyFile), /validator key is in use by pid/);
    assert.equal(existsSync(join(other, "quire.lock")), false);
    await keyLock.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a lock in a directory that does not exist: LOCK_FAILED, a typed error", async () => {
  await assert.rejects(FileLock.acquire(join(tmpdir(), "quire-no-such-dir-xyz", "quire.lock"), "data directory"), (e: unknown) => e instanceof LockError && e.code === "LOCK_FAILED");
});
