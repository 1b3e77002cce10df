/**
 * The view timer fired (a local event). Check: it is for the current view and its deadline has passed (the shell
 * keeps one timer, but a firing may race with a view change). Apply: time out in the view (or re-broadcast the
 * timeout already sent in it) and re-arm the timer.
 */
import { localTimeout } from "./core.js";
import type { Draft } from "./core.js";

export function onTimer(d: Draft, view: number): void {
  if (view !== d.view || d.now < d.viewDeadline) return;
  localTimeout(d);
}

/** The validator this replica waits for in `view` is unreachable (see the `leaderDown` input): time out now. */
export function onLeaderDown(d: Draft, view: number): void {
  if (view !== d.view) return;
  localTimeout(d);
}

/** Another geo cluster asked for a view change (see the `remoteTimeout` input): time out now, once per view. */
export function onRemoteTimeout(d: Draft, view: number): void {
  if (view !== d.view || d.safety.lastTimeout?.view === view) return;
  localTimeout(d);
}
