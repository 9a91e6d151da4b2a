/** The daemon's own metrics (the queue registers its own in the same registry). */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface DaemonMetrics {
  /** `promspool_receiver_requests_total{code}`: every answer on the remote-write path. */
  receiverRequests: Counter<'code'>;
  /** `promspool_receiver_samples_total{type}`: signals committed from pushes (`sample`, `histogram`, `exemplar`). */
  receiverSignals: Counter<'type'>;
  /** `promspool_receiver_requests_stored_as_received_total`: 1.0 requests that took the relay fast path (appended as received, not decoded). */
  receiverRawRequests: Counter;
  /** `promspool_receiver_requests_in_flight`: write requests being handled, waiting for a body slot included. */
  receiverInFlight: Gauge;
  /** `promspool_config_last_reload_successful`: 1 if the last reload applied, 0 if it was refused. */
  reloadSuccessful: Gauge;
  /** `promspool_config_last_reload_success_timestamp_seconds`. */
  reloadSuccessTimestamp: Gauge;
}

export function createDaemonMetrics(registry: Registry): DaemonMetrics {
  const receiverRequests = new Counter({
    name: 'promspool_receiver_requests_total',
    help: 'Remote-write requests received, by HTTP status code answered.',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const receiverSignals = new Counter({
    name: 'promspool_receiver_samples_total',
    help: 'Signals received through the remote-write receiver and committed to the queue, by type.',
    labelNames: ['type'] as const,
    registers: [registry],
  });
  const receiverRawRequests = new Counter({
    name: 'promspool_receiver_requests_stored_as_received_total',
    help: 'Remote-write 1.0 requests stored as the bytes they arrived in (relay fast path) instead of decoded.',
    registers: [registry],
  });
  const receiverInFlight = new Gauge({
    name: 'promspool_receiver_requests_in_flight',
    help: 'Remote-write requests being handled now, including those waiting for a body slot.',
    registers: [registry],
  });
  const reloadSuccessful = new Gauge({
    name: 'promspool_config_last_reload_successful',
    help: 'Whether the last configuration reload succeeded (1) or was refused (0).',
    registers: [registry],
  });
  const reloadSuccessTimestamp = new Gauge({
    name: 'promspool_config_last_reload_success_timestamp_seconds',
    help: 'Time of the last successful configuration load or reload, in seconds since the epoch.',
    registers: [registry],
  });
  return {
    receiverRequests,
    receiverSignals,
    receiverRawRequests,
    receiverInFlight,
    reloadSuccessful,
    reloadSuccessTimestamp,
  };
}
