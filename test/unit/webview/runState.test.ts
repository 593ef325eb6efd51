import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { applyMessage, configNamed, fromSaved, nextView, toSaved, trialApply, trialsStale, trialsTitle } from '../../../webview/runState';
import { train } from '../../../src/core/train';
import { diagnose } from '../../../src/diagnosis/rules';
import { suggestActivations } from '../../../src/diagnosis/suggestions';
import { readLogdir } from '../../../src/tensorboard/logdir';
import { tbRunView } from '../../../src/tensorboard/view';
import { diagnoseTbRun } from '../../../src/tensorboard/diagnose';
import { makeConfig, randomData } from '../core/helpers';
import type { HostToWebview, RunView, WebviewToHost } from '../../../src/protocol';
import type { ProbePoint } from '../../../src/core/types';

const probe = (step: number) => ({ step, trainLoss: 1, valLoss: 1, layers: [] }) as unknown as ProbePoint;
const view = (over: Partial<RunView>): RunView => ({
  configPath: '/ws/a.nn.yaml', configName: 'a', layers: [], status: 'idle', step: 0, totalSteps: 100, timeline: [], lossCurve: [], ...over,
});
const compare = { layer: 0, layerName: 'dense_1', status: 'done', results: [] } as unknown as RunView['compare'];

describe('run state: what a state message from the host does to the view (nextView)', () => {
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

/** The host's messages in order, through the fold as a webview app applies them: the last view, and after which
 *  messages the charts started over. */
function fold(messages: HostToWebview[], start?: RunView): { view?: RunView; resets: boolean[]; newRuns: boolean[] } {
  let v = start;
  const resets: boolean[] = [], newRuns: boolean[] = [];
  for (const m of messages) {
    const next = applyMessage(v, m);
    v = next.view;
    resets.push(next.resetCharts);
    newRuns.push(next.newRun);
  }
  return { view: v, resets, newRuns };
}
const state = (over: Partial<RunView>): HostToWebview => ({ type: 'state', view: view(over) });
const stats = (step: number, probes: number[], losses: [number, number][] = []): HostToWebview => ({ type: 'stats', step, probes: probes.map(probe), lossCurve: losses });

describe('run state: what each host message does to the view both webview apps draw', () => {
  it('stats append to the view\'s timeline and loss curve and move its step; the end of the run keeps the charts', () => {
    const r = fold([state({ status: 'running', timeline: [probe(0)] }), stats(10, [10], [[1, 0.9], [10, 0.5]]), stats(20, [20], [[20, 0.25]]),
      state({ status: 'done', step: 20, timeline: [probe(0), probe(10), probe(20)], lossCurve: [[1, 0.9], [10, 0.5], [20, 0.25]] })]);
    assert.deepEqual(r.resets, [true, false, false, false]);
    assert.equal(r.view?.status, 'done');
    const mid = fold([state({ status: 'running', timeline: [probe(0)] }), stats(10, [10], [[1, 0.9], [10, 0.5]]), stats(20, [20], [[20, 0.25]])]).view!;
    assert.equal(mid.step, 20);
    assert.deepEqual(mid.timeline.map(p => p.step), [0, 10, 20]);
    assert.deepEqual(mid.lossCurve, [[1, 0.9], [10, 0.5], [20, 0.25]]);
  });

  it('a state for another config starts the charts over, even with a longer timeline', () => {
    const r = fold([state({ status: 'done', timeline: [probe(0)] }), state({ status: 'done', configPath: '/ws/b.nn.yaml', configName: 'b', timeline: [probe(0), probe(10)] })]);
    assert.deepEqual(r.resets, [true, true]);
    assert.deepEqual(r.newRuns, [false, false]);   // a finished run shown, none started
    assert.equal(r.view?.configName, 'b');
  });

  it('a state whose timeline is shorter than what the stats built starts the charts over', () => {
    // 1 probe from the state, 2 from stats: a state with 2 went back (the host restarted the run's timeline).
    const r = fold([state({ status: 'running', timeline: [probe(0)] }), stats(20, [10, 20]), state({ status: 'running', timeline: [probe(0), probe(10)] })]);
    assert.deepEqual(r.resets, [true, false, true]);
    assert.deepEqual(r.newRuns, [true, false, false]);   // the same run (no other command time): only its charts restart
    assert.deepEqual(r.view?.timeline.map(p => p.step), [0, 10]);
  });

  it('trials and a verification survive a state for the same config and are dropped for another config', () => {
    const trials = { layer: 'all', layerName: 'all hidden layers', status: 'done', results: [] } as RunView['compare'];
    const verification = { status: 'done', title: 'init he_normal on dense_1' } as RunView['verification'];
    const shown = fold([state({ status: 'done', timeline: [probe(0)] }), { type: 'compare', compare: trials! }, { type: 'verification', verification: verification! },
      state({ status: 'running', marks: [{ what: 'command', t: 7 }] })]);
    assert.equal(shown.view?.compare, trials);
    assert.equal(shown.view?.verification, verification);
    assert.deepEqual(shown.resets, [true, false, false, true]);
    const other = fold([state({ status: 'done', configPath: '/ws/b.nn.yaml' })], shown.view);
    assert.equal(other.view?.compare, undefined);
    assert.equal(other.view?.verification, undefined);
  });

  it('stats, trials and a verification before any state change nothing (the host re-sends the view after ready)', () => {
    const r = fold([stats(10, [10]), { type: 'compare', compare: compare! }, { type: 'verification', verification: { status: 'running', title: 't' } }]);
    assert.equal(r.view, undefined);
    assert.deepEqual(r.resets, [false, false, false]);
  });

  it('a state whose view is malformed (an older version\'s, from the host\'s workspaceState) leaves the view as it is', () => {
    const start = view({ status: 'done', timeline: [probe(0)] });
    const old = { ...start, timeline: undefined, layers: [{ name: 'dense_1' }] } as unknown as RunView;
    const r = fold([{ type: 'state', view: old }, { type: 'state', view: { ...start, status: 'paused' } as unknown as RunView }], start);
    assert.equal(r.view, start);
    assert.deepEqual(r.resets, [false, false]);
    assert.equal(fold([{ type: 'state', view: old }]).view, undefined);   // none before it: still none
  });

  it('the sidebar\'s empty clears the view, and the next state starts the charts over', () => {
    const r = fold([state({ status: 'done', timeline: [probe(0)] }), { type: 'empty', message: 'No folder open' }]);
    assert.equal(r.view, undefined);
    assert.deepEqual(fold([state({ status: 'done', timeline: [probe(0)] })], r.view).resets, [true]);
  });

  it('messages about other things (notice, stale, theme, TensorBoard runs, explorer focus, an unknown type) leave the view as it is', () => {
    const start = view({ status: 'done', timeline: [probe(0)] });
    const r = fold([{ type: 'notice', notice: { kind: 'info', text: 'report written' } }, { type: 'stale', stale: true, trials: [] }, { type: 'theme' },
      { type: 'tbRuns', tb: { logdir: '/logs', runs: [], shown: 0 } }, { type: 'explorerFocus', activation: 'relu' }, { type: 'nonsense' } as unknown as HostToWebview], start);
    assert.equal(r.view, start);
    assert.deepEqual(r.view?.timeline.map(p => p.step), [0]);
    assert.deepEqual(r.resets, [false, false, false, false, false, false]);
  });
});

describe('run state: the config a message from the panel names (the file the host acts on)', () => {
  const A = 'file:///ws/a.nn.yaml', B = 'file:///ws/b.nn.yaml';
  const trialsOf = (uri: string) => ({ layer: 0, layerName: 'dense_1', status: 'done', uri, results: [] }) as unknown as RunView['compare'];
  const shownA = (extra: Partial<RunView> = {}) => ({ ...view({ status: 'done' }), configUri: A, ...extra }) as RunView;

  it('a trial row\'s Apply names the trials drawn, their config and identity: trials of b shown over a\'s run apply to b, not to a', () => {
    const onB = { ...trialsOf(B)!, id: 'id-b' };
    const m = trialApply(onB, 2)!;
    assert.deepEqual(m, { type: 'applyTrial', rank: 2, config: B, trials: 'id-b' });
    assert.equal(configNamed(m, shownA({ compare: onB })), B);
    // The message carries them: whatever the view shows when it is posted does not rename it.
    assert.equal(configNamed(m, shownA({ compare: { ...trialsOf(A)!, id: 'id-a' } })), B);
    assert.equal(configNamed(m, undefined), B);
    // Trials that cannot name themselves (saved before trials had an identity) have no Apply to send.
    assert.equal(trialApply(trialsOf(B)!, 0), undefined);
    assert.equal(trialApply({ ...trialsOf(B)!, uri: undefined, id: 'id-b' }, 0), undefined);
  });

  it('trials are out of date unless the host lists their id among those it would apply (the latest of their config, of its text)', () => {
    const t = { ...trialsOf(A)!, id: 'id-a' };
    assert.equal(trialsStale(t, ['id-b', 'id-a']), false);
    assert.equal(trialsStale(t, ['id-b']), true, 'another config\'s trials are current, not these');
    assert.equal(trialsStale(t, []), true);
    assert.equal(trialsStale(t, undefined), false, 'before the host said: current');
    assert.equal(trialsStale(trialsOf(A)!, undefined), true, 'no identity: never applicable');
  });

  it('the trials\' title names their config by its workspace path: two configs named the same are told apart', () => {
    const inA = { ...trialsOf('file:///ws/flow-a/same.nn.yaml')!, configLabel: 'flow-a/same.nn.yaml' };
    const inB = { ...trialsOf('file:///ws/flow-b/same.nn.yaml')!, configLabel: 'flow-b/same.nn.yaml' };
    assert.equal(trialsTitle(inA), 'Activation trials for dense_1 of flow-a/same.nn.yaml: done');
    assert.equal(trialsTitle(inB), 'Activation trials for dense_1 of flow-b/same.nn.yaml: done');
    // Without the host's label (a view saved before it had one): the file name, decoded.
    assert.equal(trialsTitle(trialsOf('file:///ws/my%20net.nn.yaml')!), 'Activation trials for dense_1 of my net.nn.yaml: done');
  });

  it('Run, Compare, a finding\'s or a ranked row\'s Apply and Verify name the shown run\'s config, whatever trials are shown', () => {
    const v = shownA({ compare: trialsOf(B) });
    for (const m of [{ type: 'run' }, { type: 'compare', layer: 0 }, { type: 'applyFinding', finding: 0, suggestion: 0 }, { type: 'applyRanked', layer: 0, rank: 0 },
      { type: 'verifyFinding', finding: 0, suggestion: 0 }, { type: 'verifyRanked', layer: 0, rank: 0 }]) assert.equal(configNamed(m as WebviewToHost, v), A, m.type);
  });

  it('nothing is named for a TensorBoard run, before any view, or by messages that act on no file', () => {
    assert.equal(configNamed({ type: 'run' } as WebviewToHost, shownA({ source: 'tensorboard' } as Partial<RunView>)), undefined);
    for (const t of ['ready', 'stop', 'showPanel']) assert.equal(configNamed({ type: t } as WebviewToHost, shownA()), undefined, t);
  });
});

describe('run state: what a webview keeps with setState, read back after a reload or an extension update', () => {
  const tb = { logdir: '/logs', runs: [{ name: 'run1', steps: 3, layers: 2, errors: 0, warnings: 1 }], shown: 0 };
  /** What setState hands back: VS Code keeps the state as JSON. */
  const reloaded = (s: unknown) => fromSaved(JSON.parse(JSON.stringify(s)));

  it('a state saved by this version comes back as it was saved', () => {
    const v = view({ status: 'done', step: 20, timeline: [probe(0), probe(20)], lossCurve: [[1, 0.5], [20, 0.25]], compare, marks: [{ what: 'command', t: 3 }] });
    assert.deepEqual(reloaded(toSaved(v, tb)), { v: 1, view: JSON.parse(JSON.stringify(v)), tb });
    assert.deepEqual(reloaded(toSaved(v)), { v: 1, view: JSON.parse(JSON.stringify(v)) });
  });

  it('the views the host sends pass: a trained and diagnosed run (findings, suggestions) and each TensorBoard fixture\'s run', () => {
    const config = makeConfig([4], [{ type: 'dense', units: 8, activation: 'sigmoid' }, { type: 'dense', units: 8, activation: 'sigmoid' }, { type: 'dense', units: 1 }], { steps: 6 });
    const result = train(config, randomData([4], 1, 32, 5));
    const findings = diagnose(config, result);
    // As RunController builds it: the layers of initialView, the result's timeline, its own loss pairs, a NaN loss
    // (a diverged step: null after JSON).
    const run = view({ status: 'done', step: result.steps, totalSteps: 6, timeline: result.timeline, lossCurve: [...result.lossCurve.map((l, i): [number, number] => [i + 1, l]), [7, NaN]],
      layers: config.model.layers.map(l => ({ index: l.index, name: l.name, type: l.type, outputShape: [8], params: 40 })),
      findings, suggestions: suggestActivations(config, findings), engine: 'engine core' });
    assert.ok(run.timeline.length > 1 && run.suggestions!.length > 0, 'a run with probes and suggestions');
    assert.equal(reloaded(toSaved(run))?.view.timeline.length, run.timeline.length);
    // Every TensorBoard fixture with its findings (missing measures, layers whose activation the log does not say).
    const fixtures = path.join(__dirname, '../../fixtures/tfevents');
    let withTimeline = 0;
    for (const f of fs.readdirSync(fixtures)) {
      for (const logs of readLogdir(path.join(fixtures, f))) {
        const tbView = tbRunView('logs', logs, diagnoseTbRun(logs));
        if (tbView.timeline.length) withTimeline++;
        assert.equal(reloaded(toSaved(tbView, tb))?.view.timeline.length, tbView.timeline.length, f);
      }
    }
    assert.ok(withTimeline > 3, `${withTimeline} fixtures with layer data`);
  });

  it('a state of another version (v 2, v \'1\') is dropped', () => {
    const v = view({ status: 'done' });
    assert.equal(reloaded({ v: 2, view: v }), undefined);
    assert.equal(reloaded({ v: '1', view: v }), undefined);
    assert.equal(reloaded({ v: null, view: v }), undefined);
  });

  it('the state from before versions ({ view, tb? }, what the panel and the sidebar kept) is read as version 1 when well-formed', () => {
    // The panel showing a TensorBoard run has nothing else after an update: the host sends no view of its own then.
    const tbView = view({ status: 'done', source: 'tensorboard', configPath: '/logs/run1', timeline: [probe(0)], missing: [] });
    assert.deepEqual(reloaded({ view: tbView }), { v: 1, view: JSON.parse(JSON.stringify(tbView)) });
    assert.deepEqual(reloaded({ view: tbView, tb }), { v: 1, view: JSON.parse(JSON.stringify(tbView)), tb });
    // Its malformed tb list alone is dropped; a malformed view drops it all, as for version 1.
    assert.deepEqual(reloaded({ view: tbView, tb: { logdir: '/logs' } }), { v: 1, view: JSON.parse(JSON.stringify(tbView)) });
    assert.equal(reloaded({ view: { ...tbView, timeline: [{ step: 0 }] } }), undefined);
    assert.equal(reloaded({ tb }), undefined);
  });

  it('a malformed state is dropped, whatever part is wrong; a malformed TensorBoard list alone is dropped and the view kept', () => {
    const v = view({ status: 'done', timeline: [probe(0)] });
    for (const bad of [null, 'view', 1, [], { v: 1 }, { v: 1, view: null }, { v: 1, view: { ...v, timeline: undefined } }, { v: 1, view: { ...v, status: 'paused' } },
      { v: 1, view: { ...v, configName: 3 } }, { v: 1, view: { ...v, layers: [{ name: 'dense_1' }] } }, { v: 1, view: { ...v, timeline: [{ step: '0', layers: [] }] } },
      { v: 1, view: { ...v, lossCurve: {} } }, { v: 1, view: { ...v, findings: [{ message: 'no suggestions array' }] } },
      { v: 1, view: { ...v, compare: { layerName: 'dense_1', status: 'done' } } },
      // The optional parts the apps walk: each is checked on its own (one case per clause of isRunView).
      { v: 1, view: { ...v, suggestions: [{ layer: 0, layerName: 'dense_1' }] } }, { v: 1, view: { ...v, missing: 'histograms' } },
      { v: 1, view: { ...v, needsActivation: [0] } }, { v: 1, view: { ...v, marks: [{ what: 'command', t: '5' }] } },
      { v: 1, view: { ...v, verification: { status: 'done' } } }, { v: 1, view: { ...v, verification: { status: 'done', title: 't', result: 'better' } } }]) {
      assert.equal(reloaded(bad), undefined, JSON.stringify(bad));
    }
    for (const badTb of [{ logdir: '/logs', runs: 'run1', shown: 0 }, { logdir: '/logs', runs: [{ ...tb.runs[0], errors: '0' }], shown: 0 }]) {
      assert.deepEqual(reloaded({ v: 1, view: v, tb: badTb }), { v: 1, view: JSON.parse(JSON.stringify(v)) }, JSON.stringify(badTb));
    }
  });
});
