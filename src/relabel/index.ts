/** Prometheus-compatible relabeling: config reading, the engine, and its building blocks. */

export { compareUtf8 } from '../serialization/label-order.js';
export { goToLower, goToUpper } from './case-mapping.js';
export { isLegacyRelabelTarget, readRelabelConfigs } from './config.js';
export { compileRelabeling, isNoopRelabeling, type Relabeler } from './engine.js';
export { expandTemplate, hasTemplateVariable } from './expand.js';
export { hashMod } from './hashmod.js';
export {
  BACKTRACK_BUDGET,
  compileRelabelRegex,
  type RegexEngine,
  type RelabelRegex,
  RelabelRegexError,
  relabelRegexProblem,
} from './regex.js';
export { RELABEL_ACTIONS, RELABEL_DEFAULTS, type RelabelAction, type RelabelRule } from './types.js';
