/**
 * The live dashboard's static files (`GET /` and `GET /dashboard/:file`): hand-written HTML, one JS module and CSS
 * under src/rpc/dashboard/, copied next to this module's compiled form by scripts/build.mjs. They are read once per
 * process on first use and served from memory, so a request costs what `/v1/status` does and goes through the same
 * per-source limits as every other route. The page reads the node only through the public JSON API and
 * `/v1/stream`; nothing here knows the node.
 *
 * Headers: a Content-Security-Policy that allows only this origin (no inline script or style, no other host, no
 * framing), `nosniff`, no referrer; `Cache-Control: no-cache` with a content ETag, so a browser revalidates (a 304
 * of no body) and a node upgrade is never hidden behind a stale cached script.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

/** One file as served. */
export interface DashboardAsset {
  readonly body: Uint8Array;
  readonly contentType: string;
  /** Strong validator: a quoted prefix of the content's SHA-256. */
  readonly etag: string;
}

/**
 * 'self' in connect-src covers the page's own ws:// origin (CSP level 3), which is where `/v1/stream` lives.
 * Everything not named is refused (default-src 'none').
 */
export const DASHBOARD_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The files, by the name after `/dashboard/` (the index is also `GET /`). */
const FILES: Readonly<Record<string, string>> = {
  "index.html": "text/html; charset=utf-8",
  "dashboard.js": "text/javascript; charset=utf-8",
  "dashboard.css": "text/css; charset=utf-8",
};

export const DASHBOARD_INDEX = "index.html";

let loaded: Map<string, DashboardAsset> | undefined;

function load(): Map<string, DashboardAsset> {
  const m = new Map<string, DashboardAsset>();
  for (const [name, contentType] of Object.entries(FILES)) {
    const body = readFileSync(new URL(`./dashboard/${name}`, import.meta.url));
    m.set(name, { body, contentType, etag: `"${createHash("sha256").update(body).digest("hex").slice(0, 32)}"` });
  }
  return m;
}

/**
 * The asset of that name, or undefined for any other name. Throws (a logged 500 on the route) when the build did
 * not copy the files: a broken install, which should be loud.
 */
export function dashboardAsset(name: string): DashboardAsset | undefined {
  if (!Object.hasOwn(FILES, name)) return undefined;
  loaded ??= load();
  return loaded.get(name);
}

/** The response headers of an asset (also on its 304). */
export function dashboardHeaders(a: DashboardAsset): [string, string][] {
  return [
    ["Content-Security-Policy", DASHBOARD_CSP],
    ["X-Content-Type-Options", "nosniff"],
    ["Referrer-Policy", "no-referrer"],
    ["Cache-Control", "no-cache"],
    ["ETag", a.etag],
  ];
}

/** True when an `If-None-Match` header names the asset's ETag (a list, `*`, or a weak form of it). */
export function notModified(ifNoneMatch: string, a: DashboardAsset): boolean {
  if (ifNoneMatch === "") return false;
  return ifNoneMatch.split(",").some((t) => {
    const tag = t.trim();
    return tag === "*" || tag === a.etag || tag === `W/${a.etag}`;
  });
}
