import { test } from "node:test";
import assert from "node:assert/strict";
import { UsageError, parseArgs } from "../../../src/cli/args.js";

test("parseArgs: values, switches, --flag=value, repeated flags kept in order, and -- ends the options", () => {
  const a = parseArgs(["root", "--backend", "node", "--set", "a=1", "--set=b.c=2", "--force", "--", "--x"], ["force"]);
  assert.deepEqual(a.positional, ["root", "--x"]);
  assert.equal(a.flags.get("backend"), "node");
  assert.equal(a.flags.get("force"), true);
  assert.equal(a.flags.get("set"), "b.c=2");
  assert.deepEqual(a.lists.get("set"), ["a=1", "b.c=2"]);
});

test("parseArgs: a valued flag followed by another flag or nothing is a usage error", () => {
  for (const argv of [["--rpc", "--json"], ["--rpc"], ["--set", "--help"]]) {
    assert.throws(() => parseArgs(argv, ["help"]), UsageError, argv.join(" "));
  }
  assert.equal(parseArgs(["--rpc=--json"]).flags.get("rpc"), "--json", "an explicit = still takes any value");
});
