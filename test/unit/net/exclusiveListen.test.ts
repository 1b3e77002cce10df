/**
 * Exclusive port binds (issue 11, item 5): uWS sets SO_REUSEPORT unless told otherwise, so a second listener on a
 * bound port used to succeed and share its connections with the first (two copies of one validator). `listenExclusive`
 * (used by the p2p server and the RPC server) makes the second bind fail. With the flag set to 0 (uWS's default
 * listen) both tests fail: the second bind succeeds.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import * as uWS from "uWebSockets.js";
import { listenExclusive } from "../../../src/net/link/uwsServer.js";
import { NetError } from "../../../src/net/transport.js";
import { UwsTransport } from "../../../src/net/uwsTransport.js";
import { blstVerifyFn, CHAIN_ID, testIdentity } from "./support.js";

/**
 * A port that was free a moment ago. The binds below name it explicitly: Linux does not let a socket share a port that
 * another got by binding port 0 even with SO_REUSEPORT, so an ephemeral first bind would hide the difference.
 */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

const validators = [0, 1].map((i) => ({ publicKey: testIdentity(i).publicKey }));

function transport(port: number): UwsTransport {
  return new UwsTransport({ self: 1, chainId: CHAIN_ID, validators, listen: { host: "127.0.0.1", port } }, { identity: testIdentity(1), verify: blstVerifyFn });
}

test("a second p2p listener on a bound port fails with LISTEN_FAILED", async () => {
  const first = transport(await freePort());
  await first.start();
  try {
    const second = transport(first.listenPort);
    await assert.rejects(second.start(), (e: unknown) => e instanceof NetError && e.code === "LISTEN_FAILED");
  } finally {
    await first.stop();
  }
});

test("listenExclusive: the second bind of a port fails, and the port is free again once the first closes", async () => {
  const listen = (port: number) => new Promise<uWS.us_listen_socket | false>((resolve) => listenExclusive(uWS.App(), "127.0.0.1", port, resolve));
  const port = await freePort();
  const a = await listen(port);
  assert.notEqual(a, false);
  assert.equal(await listen(port), false);
  uWS.us_listen_socket_close(a as uWS.us_listen_socket);
  const b = await listen(port);
  assert.notEqual(b, false);
  uWS.us_listen_socket_close(b as uWS.us_listen_socket);
});
