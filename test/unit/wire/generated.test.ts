import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";

const hasFlatc = spawnSync("flatc", ["--version"], { stdio: "ignore" }).status === 0;

// The committed generated code must be exactly what flatc makes of quire.fbs (plus the import-suffix fix), so nobody
// edits it by hand and nobody changes the schema without regenerating. Needs flatc (scripts/gen-wire.sh installs it).
test("src/wire/generated/ matches quire.fbs", { skip: hasFlatc ? false : "flatc is not installed" }, () => {
  const r = spawnSync("bash", ["scripts/gen-wire.sh", "--check"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
});
