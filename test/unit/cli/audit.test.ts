import { test } from "node:test";
import assert from "node:assert/strict";
import { UsageError } from "../../../src/cli/args.js";
import { auditCommand } from "../../../src/cli/audit.js";

test("quire audit: every usage mistake is a UsageError (exit 2) naming it, before any node is asked", async () => {
  const cases: [string[], RegExp][] = [
    [[], /--rpc URL1,URL2,\.\.\. is required/],
    [["--rpc", "ftp://a"], /"ftp:\/\/a" is not an http\(s\) URL/],
    [["--rpc", "http://a:1,"], /"" is not an http\(s\) URL/],
    [["--rpc", "http://a:1,http://a:1"], /--rpc lists http:\/\/a:1 twice/],
    [["--rpc", "http://a:1", "--from", "x"], /--from must be a non-negative integer/],
    [["--rpc", "http://a:1", "--from", "5", "--to", "4"], /--to 4 is below --from 5/],
    [["--rpc", "http://a:1", "--bogus", "1"], /unknown option --bogus/],
    [["--rpc", "http://a:1", "extra"], /unexpected argument "extra"/],
    [["--rpc", "http://127.0.0.1:9", "--genesis", "/nonexistent/genesis.json"], /--genesis: cannot read genesis file \/nonexistent\/genesis\.json/],
  ];
  for (const [argv, message] of cases) {
    await assert.rejects(auditCommand(argv), (e: unknown) => e instanceof UsageError && message.test(e.message), argv.join(" "));
  }
});
