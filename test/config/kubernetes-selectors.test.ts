import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fieldSelectorProblem, labelSelectorProblem } from '../../src/config/kubernetes-selectors.js';

describe('kubernetes selectors', () => {
  it('accepts the label selector forms Kubernetes accepts', () => {
    for (const s of [
      '',
      'app',
      '!app',
      'app=web',
      'app==web',
      'app!=web',
      'app=',
      'tier in (a,b)',
      'tier notin (a, b,c)',
      'app.kubernetes.io/name=x,env!=dev',
      'replicas>2',
    ]) {
      assert.equal(labelSelectorProblem(s), undefined, s);
    }
  });

  it('refuses others, naming the term', () => {
    assert.equal(
      labelSelectorProblem('app=web,=x'),
      'invalid label selector "app=web,=x": cannot understand "=x" (key, !key, key=value, key!=value, key in (a,b), key notin (a,b))',
    );
    for (const s of ['app=we b', 'tier in a,b', 'a=b=c', '-app=x'])
      assert.notEqual(labelSelectorProblem(s), undefined, s);
  });

  it('field selectors: key=value, key==value, key!=value, escapes', () => {
    for (const s of ['', 'metadata.name=x', 'status.phase!=Running,spec.nodeName==n1', 'metadata.name=a\\,b']) {
      assert.equal(fieldSelectorProblem(s), undefined, s);
    }
    assert.equal(
      fieldSelectorProblem('metadata.status-Running'),
      'invalid field selector "metadata.status-Running": cannot understand "metadata.status-Running" (key=value, key==value or key!=value)',
    );
  });
});
