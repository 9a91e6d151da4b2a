import { createActor, setup } from 'xstate';
import type { ActorState, LifecycleEvent } from './types.js';

/**
 * The one lifecycle machine of every actor:
 *
 * ```
 * starting --STARTED--> running --DRAIN--> draining --STOPPED--> stopped
 *    \--DRAIN--> draining    BACKOFF | ^ RESUME
 *    (stop or failed start)         v |
 *                                 backoff --DRAIN--> draining
 * ```
 *
 * `backoff` is only entered on request (a SendLoop waiting between retries); plain actors never
 * send BACKOFF. Events a state does not list are ignored, so e.g. a late STARTED after a stop
 * during start-up is harmless. xstate costs ~2.4 us per event, hence control events only.
 */
export const lifecycleMachine = setup({
  types: { events: {} as LifecycleEvent },
}).createMachine({
  id: 'lifecycle',
  initial: 'starting',
  states: {
    starting: { on: { STARTED: 'running', DRAIN: 'draining' } },
    running: { on: { DRAIN: 'draining', BACKOFF: 'backoff' } },
    backoff: { on: { RESUME: 'running', DRAIN: 'draining' } },
    draining: { on: { STOPPED: 'stopped' } },
    stopped: { type: 'final' },
  },
});

/** A started lifecycle machine with a plain-string view of its state. */
export interface LifecycleTracker {
  readonly state: ActorState;
  send(event: LifecycleEvent): void;
  /** Calls `listener` with each new state (not the initial one); returns an unsubscribe function. */
  onChange(listener: (state: ActorState) => void): () => void;
}

/** Starts a {@link lifecycleMachine} in `starting`. */
export function createLifecycle(): LifecycleTracker {
  const actor = createActor(lifecycleMachine);
  actor.start();
  let current: ActorState = 'starting';
  const listeners = new Set<(state: ActorState) => void>();
  actor.subscribe((snapshot) => {
    const next = snapshot.value as ActorState;
    if (next === current) return;
    current = next;
    for (const l of listeners) l(next);
  });
  return {
    get state() {
      return current;
    },
    send(event) {
      actor.send(event);
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
