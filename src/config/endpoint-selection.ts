/**
 * What an endpoint sends of what it was given: `write_relabel_configs`, `send_exemplars` and
 * `send_native_histograms` of a `remote_write` entry (or the library's endpoint options).
 *
 * Defaults differ from Prometheus on purpose: Prometheus leaves exemplars and native histograms
 * out unless asked (its own TSDB may hold data a receiver cannot take), while promspool is
 * given each signal by an application or another sender that meant it to be sent on. Forwarding
 * what it was given is the least surprising for a relay, so both default to true; what an
 * endpoint set to false leaves out is counted (`*_dropped_total{reason="disabled_by_config"}`).
 */
import { readRelabelConfigs } from '../relabel/config.js';
import type { NameValidationScheme } from '../serialization/name-validation.js';
import type { CheckedMap, FieldReader } from './field-reader.js';
import type { EndpointSelection } from './types.js';

export const DEFAULT_SEND_EXEMPLARS = true;
export const DEFAULT_SEND_NATIVE_HISTOGRAMS = true;

/** Reads the three keys of `m`, an endpoint's mapping. */
export function readEndpointSelection(r: FieldReader, m: CheckedMap, scheme: NameValidationScheme): EndpointSelection {
  const rules = r.has(m, 'write_relabel_configs')
    ? readRelabelConfigs(r, m.values.get('write_relabel_configs'), r.at(m.path, 'write_relabel_configs'), scheme)
    : [];
  return {
    writeRelabelConfigs: rules ?? [],
    sendExemplars: r.boolean(m, 'send_exemplars', DEFAULT_SEND_EXEMPLARS) ?? DEFAULT_SEND_EXEMPLARS,
    sendNativeHistograms:
      r.boolean(m, 'send_native_histograms', DEFAULT_SEND_NATIVE_HISTOGRAMS) ?? DEFAULT_SEND_NATIVE_HISTOGRAMS,
    nameValidationScheme: scheme,
  };
}
