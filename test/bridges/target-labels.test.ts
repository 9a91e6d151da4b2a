import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeTargetLabels, targetLabels } from '../../src/bridges/target-labels.js';

test('target labels win; exposed ones they replace become exported_*, as honor_labels: false', () => {
  const target = targetLabels('api', 'h:1', { env: 'prod' });
  assert.deepEqual(mergeTargetLabels({ __name__: 'm', a: '1' }, target), {
    __name__: 'm',
    a: '1',
    job: 'api',
    instance: 'h:1',
    env: 'prod',
  });
  assert.deepEqual(mergeTargetLabels({ __name__: 'm', job: 'x', env: 'dev' }, target), {
    __name__: 'm',
    job: 'api',
    instance: 'h:1',
    env: 'prod',
    exported_job: 'x',
    exported_env: 'dev',
  });
  // exported_job taken: Prometheus keeps prefixing.
  assert.deepEqual(mergeTargetLabels({ __name__: 'm', job: 'x', exported_job: 'y' }, target), {
    __name__: 'm',
    job: 'api',
    instance: 'h:1',
    env: 'prod',
    exported_job: 'y',
    exported_exported_job: 'x',
  });
  // An empty exposed value is no label: nothing to keep.
  assert.deepEqual(mergeTargetLabels({ __name__: 'm', job: '' }, target), {
    __name__: 'm',
    job: 'api',
    instance: 'h:1',
    env: 'prod',
  });
});
