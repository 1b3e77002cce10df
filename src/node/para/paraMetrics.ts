/** The para node's series (prom-client), on the registry its RPC server renders at `GET /metrics`. */
import { Counter } from "prom-client";
import { scrapeGauge } from "../metrics.js";
import type { Registry } from "prom-client";

export interface ParaMetricSources {
  readonly height: () => number;
  readonly doneHeight: () => number;
  readonly mainHeight: () => number;
  readonly stalled: () => boolean;
}

export function createParaMetrics(registry: Registry, sources: ParaMetricSources) {
  const registers = [registry];
  const gauge = (name: string, help: string, read: () => number) => scrapeGauge(registry, name, help, read);
  return {
    height: gauge("quire_para_height", "Para head height (last para block made and committed here)", sources.height),
    doneHeight: gauge("quire_para_done_height", "The main chain's done height for this para chain, as last heard", sources.doneHeight),
    mainHeight: gauge("quire_para_main_height", "The main chain's head, as last heard", sources.mainHeight),
    stalled: gauge("quire_para_stalled", "1 while the node makes no para blocks because the done height trails by stallAfterBlocks", () => (sources.stalled() ? 1 : 0)),
    resends: new Counter({ name: "quire_para_resends_total", help: "Commit txs sent again (not carried within resendAfterBlocks main blocks, or failed)", registers }),
    commitsSent: new Counter({ name: "quire_para_commits_sent_total", help: "Commits put into commit txs (a resend counts its commits again)", registers }),
  };
}

export type ParaMetrics = ReturnType<typeof createParaMetrics>;
