/**
 * `GET /`: a small server-rendered status page (no scripts, nothing fetched): the node's status and the routes.
 * Reload it to refresh; tools should read `/v1/status` and `/metrics` instead.
 */
import type { StatusJson } from "./json.js";

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

const ROUTES: readonly (readonly [string, string])[] = [
  ["POST /v1/tx", "submit one raw transaction (application/octet-stream)"],
  ["POST /v1/txs", 'submit a batch: {"txs": [hex, ...]} (application/json)'],
  ["GET /v1/tx/:id", "transaction status: pending or committed (height, index, ok)"],
  ["GET /v1/blocks/:height", "committed block header, tx count and QC (or latest)"],
  ["GET /v1/blocks/:height/proof/:index", "RFC 6962 inclusion proof (input of quire merkle verify)"],
  ["GET /v1/kv/:key", "committed value of a key (percent-encoded bytes)"],
  ["GET /v1/status", "node status"],
  ["GET /v1/health", "200 when connected, in sync and committing; 503 with the reason (NO_PEERS, NOT_COMMITTING, CATCHING_UP)"],
  ["GET /v1/peers", "every validator peer: address, link, last message, announced height, penalties"],
  ["GET /v1/validators", "the validator set (epoch, keys, voting power, addresses)"],
  ["GET /v1/config", "the effective node config, without secrets"],
  ["GET /v1/consensus", "view, leader, view deadline, last vote, high QC, last TC, timeouts"],
  ["GET /v1/stream", "WebSocket: one JSON frame per committed block"],
  ["GET /metrics", "Prometheus metrics"],
];

export function renderStatusPage(s: StatusJson): string {
  const rows = (Object.entries(s) as [string, string | number][]).map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(String(v))}</td></tr>`);
  const routes = ROUTES.map(([r, d]) => `<tr><th><code>${escapeHtml(r)}</code></th><td>${escapeHtml(d)}</td></tr>`);
  return [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8"><title>Quire node</title>',
    "<style>body{font-family:sans-serif;margin:2em}th{text-align:left;padding-right:1.5em}td,th{padding:.15em .5em}</style></head>",
    `<body><h1>Quire node ${escapeHtml(String(s.nodeIndex))} · ${escapeHtml(s.chainId)}</h1>`,
    `<table>${rows.join("")}</table>`,
    `<h2>API</h2><table>${routes.join("")}</table>`,
    "</body></html>",
    "",
  ].join("\n");
}
