import assert from 'node:assert/strict';
import { nextView } from '../../../webview/runState';
import type { RunView } from '../../../src/protocol';
import type { ProbePoint } from '../../../src/core/types';

const probe = (step: number) => ({ step, trainLoss: 1, valLoss: 1, layers: [] }) as unknown as ProbePoint;
const view = (over: Partial<RunView>): RunView => ({
  configPath: '/ws/a.nn.yaml', configName: 'a', layers: [], status: 'idle', step: 0, totalSteps: 100, timeline: [], lossCurve: [], ...over,
});
const compare = { layer: 0, layerName: 'dense_1', status: 'done', results: [] } as unknown as RunView['compare'];

describe('panel state: what a state message from the host does to the panel', () => {
  it('a re-run of the same config after a run without probes starts its charts over (they showed the old run\'s layers)', () => {
    const refused = view({ status: 'error', layers: [{ index: 0, name: 'huge', type: 'dense', activation: 'tanh', outputShape: [9000] }], marks: [{ what: 'command', t: 1 }] });
    const next = nextView(refused, view({ status: 'running', marks: [{ what: 'command', t: 2 }] }));
    assert.equal(next.newRun, true);
    assert.equal(next.resetCharts, true);
  });

  it('a run that starts after a refused one is a new run even when neither state carries marks', () => {
    const next = nextView(view({ status: 'error', timeline: [] }), view({ status: 'running', timeline: [] }));
    assert.deepEqual([next.newRun, next.resetCharts], [true, true]);
  });

  it('the host\'s second \'running\' of one run (the engine chosen) is the same run: nothing starts over', () => {
    const first = nextView(view({ status: 'done', timeline: [probe(0)] }), view({ status: 'running', marks: [{ what: 'command', t: 5 }] }));
    assert.deepEqual([first.newRun, first.resetCharts], [true, true]);
    const second = nextView(first.view, view({ status: 'running', engine: 'engine core', marks: [{ what: 'command', t: 5 }] }));
    assert.deepEqual([second.newRun, second.resetCharts], [false, false]);
    assert.equal(second.view.engine, 'engine core');
  });

  it('a new run of the same config while the panel still shows one running (its end never arrived) starts over', () => {
    const next = nextView(view({ status: 'running', timeline: [probe(0)], marks: [{ what: 'command', t: 1 }] }), view({ status: 'running', marks: [{ what: 'command', t: 9 }] }));
    assert.deepEqual([next.newRun, next.resetCharts], [true, true]);
  });

  it('the end of a run keeps its charts (drawn in place); a timeline that went back or another config starts them over', () => {
    const running = view({ status: 'running', timeline: [probe(0), probe(10)] });
    assert.deepEqual(Object.values(nextView(running, view({ status: 'done', timeline: [probe(0), probe(10), probe(20)] }))).slice(1), [false, false]);
    assert.equal(nextView(running, view({ status: 'running', timeline: [probe(0)] })).resetCharts, true);
    assert.equal(nextView(view({ status: 'done' }), view({ status: 'done', configPath: '/ws/b.nn.yaml' })).resetCharts, true);
    assert.equal(nextView(undefined, view({ status: 'done' })).resetCharts, true);
  });

  it('trials stay for the same config across a new run, not for another config', () => {
    const shown = view({ status: 'done', compare });
    assert.equal(nextView(shown, view({ status: 'running' })).view.compare, compare);
    assert.equal(nextView(shown, view({ status: 'running', configPath: '/ws/b.nn.yaml' })).view.compare, undefined);
  });
});
