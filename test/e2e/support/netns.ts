/**
 * Linux network namespaces for partition tests: each node in a namespace of its own with two links to a hub
 * namespace —
 *
 *   node i ns:  "data" 10.213.S.(i+1)/24 ──veth── hub ns: bridge "br-data"   (validator traffic; `cut(i)` downs it)
 *               "mgmt" 10.214.S.(i+1)/24 ──veth── hub ns: bridge "br-mgmt" ──veth── root ns: 10.214.S.254/24
 *
 * Validators dial each other only on the data addresses, so cutting a node's data port at the bridge isolates it from
 * the other validators while this process still reads its RPC over the management bridge (the configs bind 0.0.0.0).
 * Every address lives in namespaces made here; S is a /24 no route of the root namespace uses yet.
 *
 * Everything is named after this process's pid and deleted by name in `destroy()`, which the tests call from a
 * `finally`/`after`. A machine without `ip netns` makes `createNetns` throw with the reason: a partition test must
 * fail there, never pass silently. As root under CI (`CI=true`) a missing `ip` is installed from Debian (iproute2).
 */
import { execFileSync, spawnSync } from "node:child_process";

export interface Netns {
  /** Where the validators reach node i (its data address). */
  readonly hosts: readonly string[];
  /** Where this process reaches node i's RPC (its management address). */
  readonly rpcHosts: readonly string[];
  /** Runs a command inside node i's namespace (the prefix execs it, so the pid is the node's). */
  launcher(i: number): readonly string[];
  /** Takes node i's data link down at the bridge: no validator traffic in or out. */
  cut(i: number): void;
  /** Brings node i's data link back. */
  heal(i: number): void;
  /** Deletes every namespace (and with them every veth and bridge) by name. Idempotent, never throws. */
  destroy(): void;
}

function ip(args: readonly string[]): string {
  const r = spawnSync("ip", args, { encoding: "utf8", timeout: 10_000 });
  if (r.error !== undefined) throw new Error(`ip ${args.join(" ")}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")} exited ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Makes sure `ip netns` can be used here, or throws saying why (and how to fix it). */
export function requireIpNetns(): void {
  if (process.getuid?.() !== 0) throw new Error("network-namespace tests need root (ip netns add); run the suite as root, as CI does");
  if (spawnSync("ip", ["-V"]).error !== undefined) {
    if (process.env["CI"] !== "true") throw new Error("`ip` (iproute2) is not installed: apt-get install -y iproute2");
    execFileSync("apt-get", ["update"], { stdio: "ignore", timeout: 300_000 });
    execFileSync("apt-get", ["install", "-y", "iproute2"], { stdio: "ignore", timeout: 300_000 });
  }
}

/** Creates the namespaces, bridges and links for `n` nodes (see the file comment). */
export function createNetns(n: number): Netns {
  requireIpNetns();
  const tag = `qf${process.pid}`;
  const hub = `${tag}-hub`;
  const nodeNs = (i: number) => `${tag}-n${i}`;
  const rootLink = `${tag}m`.slice(0, 15);
  const names = [hub, ...Array.from({ length: n }, (_, i) => nodeNs(i))];
  const destroy = () => {
    for (const ns of names) spawnSync("ip", ["netns", "del", ns], { stdio: "ignore" });
    spawnSync("ip", ["link", "del", rootLink], { stdio: "ignore" });
  };
  destroy(); // leftovers of an earlier run that had this pid
  const routes = ip(["-4", "route", "show"]);
  let subnet = -1;
  for (let k = 0; k < 250 && subnet < 0; k++) {
    const s = ((process.pid + k) % 250) + 1;
    if (!routes.includes(`10.214.${s}.`)) subnet = s;
  }
  if (subnet < 0) throw new Error("no free 10.214.x.0/24 for the management bridge");
  const hosts = Array.from({ length: n }, (_, i) => `10.213.${subnet}.${i + 1}`);
  const rpcHosts = Array.from({ length: n }, (_, i) => `10.214.${subnet}.${i + 1}`);
  try {
    ip(["netns", "add", hub]);
    for (const br of ["br-data", "br-mgmt"]) {
      ip(["-n", hub, "link", "add", br, "type", "bridge"]);
      ip(["-n", hub, "link", "set", br, "up"]);
    }
    for (let i = 0; i < n; i++) {
      const ns = nodeNs(i);
      ip(["netns", "add", ns]);
      ip(["-n", ns, "link", "set", "lo", "up"]);
      for (const [link, port, br, addr] of [
        ["data", `d${i}`, "br-data", hosts[i]!],
        ["mgmt", `m${i}`, "br-mgmt", rpcHosts[i]!],
      ] as const) {
        ip(["-n", ns, "link", "add", link, "type", "veth", "peer", "name", port, "netns", hub]);
        ip(["-n", ns, "addr", "add", `${addr}/24`, "dev", link]);
        ip(["-n", ns, "link", "set", link, "up"]);
        ip(["-n", hub, "link", "set", port, "master", br]);
        ip(["-n", hub, "link", "set", port, "up"]);
      }
    }
    ip(["link", "add", rootLink, "type", "veth", "peer", "name", "root", "netns", hub]);
    ip(["addr", "add", `10.214.${subnet}.254/24`, "dev", rootLink]);
    ip(["link", "set", rootLink, "up"]);
    ip(["-n", hub, "link", "set", "root", "master", "br-mgmt"]);
    ip(["-n", hub, "link", "set", "root", "up"]);
  } catch (e) {
    destroy();
    throw new Error(`cannot build the network namespaces (ip netns): ${e instanceof Error ? e.message : String(e)}`);
  }
  return {
    hosts,
    rpcHosts,
    launcher: (i) => ["ip", "netns", "exec", nodeNs(i)],
    cut: (i) => void ip(["-n", hub, "link", "set", `d${i}`, "down"]),
    heal: (i) => void ip(["-n", hub, "link", "set", `d${i}`, "up"]),
    destroy,
  };
}
