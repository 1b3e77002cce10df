// Piscina worker: verifies one packed batch per task with this thread's own backend instance and key cache.
// Failures come back as `{ ok: false, code, message }` records, never as thrown Error objects.
import { loadBlsBackend } from "./backend.js";
import type { BlsBackend, BlsBackendName } from "./backend.js";
import { PublicKeyCache, unpackJobs, verifyJobsBatch } from "./batch.js";
import { QuireError } from "../../util/errors.js";

export interface WorkerTask {
  backend: BlsBackendName;
  data: Uint8Array<ArrayBuffer>;
  offsets: Uint32Array<ArrayBuffer>;
}

export type WorkerReply = { ok: true; results: Uint8Array; passed: boolean; workMs: number } | { ok: false; code: string; message: string };

let state: Promise<{ backend: BlsBackend; cache: PublicKeyCache }> | undefined;
let stateFor: BlsBackendName | undefined;

async function ready(name: BlsBackendName): Promise<{ backend: BlsBackend; cache: PublicKeyCache }> {
  if (state === undefined || stateFor !== name) {
    stateFor = name;
    state = loadBlsBackend(name).then((backend) => ({ backend, cache: new PublicKeyCache(backend) }));
  }
  return state;
}

export default async function verifyBatchTask(task: WorkerTask): Promise<WorkerReply> {
  try {
    const { backend, cache } = await ready(task.backend);
    const outcome = verifyJobsBatch(backend, cache, unpackJobs(task), () => performance.now());
    return { ok: true, ...outcome };
  } catch (e) {
    return {
      ok: false,
      code: e instanceof QuireError ? e.code : "WORKER_INTERNAL",
      message: e instanceof Error ? e.message : String(e),
    };
  }
}
