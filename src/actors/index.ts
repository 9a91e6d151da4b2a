// Internal barrel for the actor runtime; deliberately not re-exported from src/index.ts.
export { type ActorOptions, type ErrorDecision, startActor } from './actor.js';
export { MAX_TIMERS_PER_ADVANCE, SimulatedClock } from './clock.js';
export { createLifecycle, type LifecycleTracker, lifecycleMachine } from './lifecycle.js';
export { createMailbox, MAX_MAILBOX_CAPACITY } from './mailbox.js';
export type { ActorRef, ActorState, Lifecycle, LifecycleEvent, Mailbox, StopResult } from './types.js';
