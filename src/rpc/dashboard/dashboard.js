// Quire node dashboard: the live half of index.html. Plain ES module, no framework, no build step; it reads the node
// only through its public API (same origin, which is all the CSP allows):
//   - /v1/stream (WebSocket): one JSON frame per committed block (the /v1/blocks/:height document, whose
//     qc.signerIndices lists the validators in its certificate). Drives height, tx/s, commit latency and the signer
//     grid. On close or error it reconnects with exponential back-off and fills the grid's gap from /v1/blocks.
//   - /v1/status every 2 s (view, leader, mempool, peers), /v1/health every 5 s (may be 404: shown as "—"),
//     /metrics every 5 s (the node's own commit-latency histogram, a second line on the latency chart),
//     /v1/genesis once (the validator count, i.e. the grid's columns).
// Memory stays flat however long the page runs: the charts' history is fixed-size typed arrays indexed by second,
// the grid holds at most GRID_ROWS blocks and reuses its DOM rows and cells, and nothing is appended per update.

const HISTORY_SEC = 300;
const GRID_ROWS = 20;
const STATUS_POLL_MS = 2000;
const HEALTH_POLL_MS = 5000;
const METRICS_POLL_MS = 5000;
const FETCH_TIMEOUT_MS = 5000;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 5000;
/** Tiles average over this many whole seconds. */
const TILE_WINDOW_SEC = 10;

const byId = (id) => {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`dashboard: #${id} missing from index.html`);
  return e;
};
const ui = {
  node: byId("node"),
  chain: byId("chain"),
  conn: byId("conn"),
  height: byId("height"),
  view: byId("view"),
  leader: byId("leader"),
  mempool: byId("mempool"),
  peers: byId("peers"),
  health: byId("health"),
  tps: byId("tps"),
  latency: byId("latency"),
  tpsMax: byId("tps-max"),
  latencyMax: byId("latency-max"),
  tpsChart: byId("tps-chart"),
  latencyChart: byId("latency-chart"),
  signersHead: byId("signers-head"),
  signersBody: byId("signers-body"),
};

const DASH = "—";
const fmt = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const fmt1 = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

async function getJson(path) {
  const r = await fetch(path, { cache: "no-store", signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  let body = null;
  try {
    body = await r.json();
  } catch {
    body = null;
  }
  return { status: r.status, body };
}

// ------------------------------------------------------------------------------------------------------------------
// Per-second history: slot (second mod HISTORY_SEC), stamped with the second it holds, so old seconds are recycled in
// place. Sums and counts give both "per second" (tx/s: the sum) and "average" (latency: sum / count).

class SecondRing {
  constructor(n) {
    this.n = n;
    this.sum = new Float64Array(n);
    this.count = new Float64Array(n);
    this.stamp = new Float64Array(n).fill(-1);
  }
  add(sec, v) {
    const i = sec % this.n;
    if (this.stamp[i] !== sec) {
      this.stamp[i] = sec;
      this.sum[i] = 0;
      this.count[i] = 0;
    }
    this.sum[i] += v;
    this.count[i] += 1;
  }
  /** The slot holding second `sec`, or -1 when nothing was recorded in it (or its slot was recycled since). */
  at(sec) {
    const i = sec % this.n;
    return this.stamp[i] === sec ? i : -1;
  }
}

const txs = new SecondRing(HISTORY_SEC);
const latency = new SecondRing(HISTORY_SEC);
/** The node's own commit latency (its quire_commit_latency_seconds histogram), averaged between two /metrics polls. */
const nodeLatency = new SecondRing(HISTORY_SEC);
// Chart input, reused every second: NaN is "no data".
const tpsValues = new Float64Array(HISTORY_SEC);
const latencyValues = new Float64Array(HISTORY_SEC);
const nodeLatencyValues = new Float64Array(HISTORY_SEC);
/** The second the page started recording (seconds before it are no data, not zero). */
const startSec = Math.floor(Date.now() / 1000);

// ------------------------------------------------------------------------------------------------------------------
// State shown in the tiles.

let height = -1;
let firstHeightMarked = false;
let validators = 0;
/** MAX_CERT_SIGNERS of src/domain/limits.ts: the grid never grows wider than a certificate can be. */
const MAX_COLUMNS = 4096;

function showHeight(h) {
  if (h <= height) return;
  height = h;
  setText(ui.height, fmt.format(h));
  if (!firstHeightMarked) {
    firstHeightMarked = true;
    performance.mark("quire:first-height");
  }
}

function showStatus(s) {
  setText(ui.node, String(s.nodeIndex));
  setText(ui.chain, String(s.chainId));
  showHeight(s.committedHeight);
  setText(ui.view, fmt.format(s.view));
  setText(ui.leader, String(s.leader));
  setText(ui.mempool, fmt.format(s.mempoolSize));
  setText(ui.peers, fmt.format(s.peersConnected));
}

async function pollStatus() {
  try {
    const r = await getJson("/v1/status");
    if (r.status === 200 && r.body !== null) showStatus(r.body);
  } catch {
    // Node unreachable: keep the last values; the connection badge says the stream is down.
  }
  setTimeout(pollStatus, STATUS_POLL_MS);
}

/** `/v1/health`: "ok", or the reason the node gives for a 503; anything else (404, unreachable) is "—". */
async function pollHealth() {
  let text = DASH;
  try {
    const r = await getJson("/v1/health");
    if (r.status !== 404) {
      const b = r.body;
      // 200 {"ok": true} or 503 {"ok": false, "reason": "NO_PEERS" | "CATCHING_UP" | "NOT_COMMITTING"}.
      if (b !== null && typeof b === "object" && typeof b.ok === "boolean") text = b.ok ? "ok" : typeof b.reason === "string" ? b.reason : "unhealthy";
      else if (r.status === 200) text = "ok";
      else if (r.status === 503) text = "unhealthy";
    }
  } catch {
    text = DASH;
  }
  setText(ui.health, text);
  setTimeout(pollHealth, HEALTH_POLL_MS);
}

/** The value of an unlabelled sample `name` in Prometheus text, or NaN. */
function sampleValue(text, name) {
  const at = text.indexOf(`\n${name} `);
  if (at < 0) return NaN;
  const end = text.indexOf("\n", at + 1);
  return Number(text.slice(at + name.length + 2, end < 0 ? undefined : end));
}

let lastLatencySum = NaN;
let lastLatencyCount = NaN;

/** The node-side commit latency: the histogram's sum and count, differenced between polls (blocks since the last). */
async function pollMetrics() {
  try {
    const r = await fetch("/metrics", { cache: "no-store", signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (r.ok) {
      const text = await r.text();
      const sum = sampleValue(text, "quire_commit_latency_seconds_sum");
      const count = sampleValue(text, "quire_commit_latency_seconds_count");
      // A restarted node starts its counters again: a count that went down only re-bases.
      if (count > lastLatencyCount && sum >= lastLatencySum) nodeLatency.add(Math.floor(Date.now() / 1000), ((sum - lastLatencySum) / (count - lastLatencyCount)) * 1000);
      lastLatencySum = sum;
      lastLatencyCount = count;
    }
  } catch {
    // No /metrics (or unreachable): the chart shows the page's own measure only.
  }
  setTimeout(pollMetrics, METRICS_POLL_MS);
}

async function loadValidatorCount() {
  try {
    const r = await getJson("/v1/genesis");
    if (r.status === 200 && r.body !== null && Array.isArray(r.body.validators)) setValidatorCount(r.body.validators.length);
  } catch {
    // The grid then widens to the highest signer index seen.
  }
}

// ------------------------------------------------------------------------------------------------------------------
// Signer grid: the last GRID_ROWS blocks by height, newest first. `rows` is sorted descending and never longer than
// GRID_ROWS; the DOM has exactly GRID_ROWS <tr>, each with one <td> per validator, updated in place.

const rows = [];
const rowEls = [];
let gridDirty = false;

function setValidatorCount(n) {
  if (n <= validators) return;
  validators = n;
  // Rebuild the columns (only when the count grows, so at most a few times per page).
  const head = ui.signersHead;
  while (head.children.length > 1) head.lastElementChild.remove();
  for (let v = 0; v < n; v++) {
    const th = document.createElement("th");
    th.textContent = String(v);
    head.append(th);
  }
  for (const tr of rowEls) {
    delete tr.dataset.height; // new cells: the row must be drawn again
    while (tr.children.length > 1) tr.lastElementChild.remove();
    for (let v = 0; v < n; v++) {
      const td = document.createElement("td");
      td.dataset.validator = String(v);
      tr.append(td);
    }
  }
  markGridDirty();
}

function buildGridRows() {
  for (let i = 0; i < GRID_ROWS; i++) {
    const tr = document.createElement("tr");
    tr.className = "empty";
    const th = document.createElement("th");
    th.textContent = "·";
    tr.append(th);
    ui.signersBody.append(tr);
    rowEls.push(tr);
  }
}

/** Adds a block to the grid (ignored if already there or older than every row of a full grid). */
function addGridBlock(b) {
  if (b.qc === null || b.qc === undefined || !Array.isArray(b.qc.signerIndices)) return;
  let i = 0;
  while (i < rows.length && rows[i].height > b.height) i++;
  if (i < rows.length && rows[i].height === b.height) return;
  if (i >= GRID_ROWS) return;
  if (b.qc.signerIndices.length > MAX_COLUMNS) return;
  rows.splice(i, 0, { height: b.height, signers: b.qc.signerIndices, proposer: b.proposer, txCount: b.txCount });
  if (rows.length > GRID_ROWS) rows.length = GRID_ROWS;
  let top = -1;
  for (const s of b.qc.signerIndices) if (Number.isSafeInteger(s) && s > top) top = s;
  // A certificate names at most MAX_CERT_SIGNERS (domain/limits.ts) validators: a node answering more gets no columns.
  if (top + 1 > validators) setValidatorCount(Math.min(top + 1, MAX_COLUMNS));
  markGridDirty();
}

function markGridDirty() {
  if (gridDirty) return;
  gridDirty = true;
  requestAnimationFrame(renderGrid);
}

function renderGrid() {
  gridDirty = false;
  for (let r = 0; r < GRID_ROWS; r++) {
    const tr = rowEls[r];
    const row = rows[r];
    const th = tr.firstElementChild;
    if (row === undefined) {
      tr.className = "empty";
      delete tr.dataset.height;
      setText(th, "·");
      for (let c = 1; c < tr.children.length; c++) tr.children[c].className = "";
      continue;
    }
    if (tr.dataset.height === String(row.height)) continue;
    tr.className = "";
    tr.dataset.height = String(row.height);
    tr.title = `height ${row.height}: ${row.signers.length} of ${validators} signed (proposer ${row.proposer}, ${row.txCount} txs)`;
    setText(th, String(row.height));
    let k = 0;
    for (let c = 1; c < tr.children.length; c++) {
      const v = c - 1;
      while (k < row.signers.length && row.signers[k] < v) k++;
      tr.children[c].className = k < row.signers.length && row.signers[k] === v ? "on" : "";
    }
  }
}

// ------------------------------------------------------------------------------------------------------------------
// Blocks: from the stream (live: counted in tx/s and latency) and from /v1/blocks (gap fill: grid and height only).

function onBlock(b, live) {
  if (typeof b !== "object" || b === null || typeof b.height !== "number") return;
  showHeight(b.height);
  if (live) {
    const now = Date.now();
    const sec = Math.floor(now / 1000);
    txs.add(sec, b.txCount);
    if (typeof b.timestampMs === "number") latency.add(sec, Math.max(0, now - b.timestampMs));
  }
  addGridBlock(b);
}

let filling = false;

/** Fills the grid from /v1/blocks: the last GRID_ROWS heights not yet shown (after the first open and every reconnect). */
async function fillGrid() {
  if (filling) return;
  filling = true;
  try {
    const latest = await getJson("/v1/blocks/latest");
    if (latest.status !== 200 || latest.body === null) return;
    const head = latest.body.height;
    onBlock(latest.body, false);
    // The lowest height of the grid's window not shown yet (rows is descending, so walk it from the bottom).
    let from = Math.max(1, head - GRID_ROWS + 1);
    for (let i = rows.length - 1; i >= 0 && rows[i].height <= from; i--) if (rows[i].height === from) from++;
    if (from >= head) return;
    const r = await getJson(`/v1/blocks?from=${from}&to=${head - 1}`);
    if (r.status === 200 && r.body !== null && Array.isArray(r.body.blocks)) for (const b of r.body.blocks) onBlock(b, false);
  } catch {
    // The next reconnect tries again; live frames keep filling the grid meanwhile.
  } finally {
    filling = false;
  }
}

// ------------------------------------------------------------------------------------------------------------------
// The stream, with back-off: 0.5 s doubling to 5 s (with jitter), reset once a frame arrives.

let ws = null;
let backoff = BACKOFF_MIN_MS;

function setConn(state, text) {
  ui.conn.dataset.state = state;
  setText(ui.conn, text);
}

function connect() {
  const url = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/v1/stream`;
  let sock;
  try {
    sock = new WebSocket(url);
  } catch {
    scheduleReconnect();
    return;
  }
  ws = sock;
  let gotFrame = false;
  sock.onopen = () => {
    setConn("live", "live");
    fillGrid();
  };
  sock.onmessage = (ev) => {
    if (!gotFrame) {
      gotFrame = true;
      backoff = BACKOFF_MIN_MS;
    }
    let b;
    try {
      b = JSON.parse(ev.data);
    } catch {
      return;
    }
    onBlock(b, true);
  };
  sock.onerror = () => sock.close();
  sock.onclose = () => {
    sock.onopen = sock.onmessage = sock.onerror = sock.onclose = null;
    if (ws === sock) ws = null;
    scheduleReconnect();
  };
}

function scheduleReconnect() {
  const wait = Math.round(backoff * (0.75 + Math.random() * 0.5));
  setConn("reconnecting", `reconnecting in ${fmt1.format(wait / 1000)} s`);
  backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
  setTimeout(connect, wait);
}

// ------------------------------------------------------------------------------------------------------------------
// Charts: redrawn once a second from the rings (the tiles too).

function fitCanvas(c) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(c.clientWidth * dpr));
  const h = Math.max(1, Math.round(c.clientHeight * dpr));
  if (c.width !== w || c.height !== h) {
    c.width = w;
    c.height = h;
  }
  return dpr;
}

/**
 * Draws series on one scale (their common maximum, which it returns). Each is `{values, color, kind}`: values oldest
 * first, NaN = no data; kind "bars", "line" (lifted over gaps) or "sparse" (a line joining the points it has, for a
 * series sampled every few seconds).
 */
function drawChart(c, series) {
  const dpr = fitCanvas(c);
  const g = c.getContext("2d");
  const w = c.width;
  const h = c.height;
  g.clearRect(0, 0, w, h);
  let max = 0;
  for (const { values } of series) for (let i = 0; i < values.length; i++) if (values[i] > max) max = values[i];
  const top = max > 0 ? max * 1.1 : 1;
  g.strokeStyle = "#d8dde3";
  g.lineWidth = 1;
  g.beginPath();
  for (const f of [0.25, 0.5, 0.75]) {
    const y = Math.round(h - f * (h / 1.1)) + 0.5;
    g.moveTo(0, y);
    g.lineTo(w, y);
  }
  g.stroke();
  for (const { values, color, kind } of series) {
    const step = w / values.length;
    g.fillStyle = color;
    g.strokeStyle = color;
    g.lineWidth = 1.5 * dpr;
    if (kind === "bars") {
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (!(v > 0)) continue;
        const bh = (v / top) * h;
        g.fillRect(i * step, h - bh, Math.max(1, step - 0.5), bh);
      }
      continue;
    }
    g.beginPath();
    let pen = false;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (Number.isNaN(v)) {
        if (kind === "line") pen = false;
        continue;
      }
      const x = i * step + step / 2;
      const y = h - (v / top) * h;
      if (pen) g.lineTo(x, y);
      else g.moveTo(x, y);
      pen = true;
    }
    g.stroke();
  }
  return max;
}

function tick() {
  const now = Math.floor(Date.now() / 1000);
  // The current second is still filling: charts and tiles end at the last whole second.
  const last = now - 1;
  let tileTx = 0;
  let tileLatSum = 0;
  let tileLatCount = 0;
  let tileSecs = 0;
  for (let k = 0; k < HISTORY_SEC; k++) {
    const sec = last - (HISTORY_SEC - 1 - k);
    const ti = txs.at(sec);
    const li = latency.at(sec);
    const recorded = sec >= startSec;
    tpsValues[k] = ti >= 0 ? txs.sum[ti] : recorded ? 0 : NaN;
    latencyValues[k] = li >= 0 ? latency.sum[li] / latency.count[li] : NaN;
    const ni = nodeLatency.at(sec);
    nodeLatencyValues[k] = ni >= 0 ? nodeLatency.sum[ni] / nodeLatency.count[ni] : NaN;
    if (recorded && sec > last - TILE_WINDOW_SEC) {
      tileSecs++;
      if (ti >= 0) tileTx += txs.sum[ti];
      if (li >= 0) {
        tileLatSum += latency.sum[li];
        tileLatCount += latency.count[li];
      }
    }
  }
  // Without a stream the page sees no commits: "—" rather than a made-up zero.
  setText(ui.tps, tileSecs > 0 && ws !== null ? fmt1.format(tileTx / tileSecs) : DASH);
  setText(ui.latency, tileLatCount > 0 ? `${fmt.format(tileLatSum / tileLatCount)} ms` : DASH);
  const tpsMax = drawChart(ui.tpsChart, [{ values: tpsValues, color: "#2463b8", kind: "bars" }]);
  const latMax = drawChart(ui.latencyChart, [
    { values: latencyValues, color: "#b8541f", kind: "line" },
    { values: nodeLatencyValues, color: "#6b3fa0", kind: "sparse" },
  ]);
  setText(ui.tpsMax, `max ${fmt1.format(tpsMax)}`);
  setText(ui.latencyMax, `max ${fmt.format(latMax)} ms`);
  setTimeout(tick, 1000 - (Date.now() % 1000) + 5);
}

// ------------------------------------------------------------------------------------------------------------------

buildGridRows();
pollStatus();
pollHealth();
pollMetrics();
loadValidatorCount();
connect();
tick();
