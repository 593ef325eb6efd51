import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EventFileWriter } from '../../src/tensorboard/writer';
import { LAYERS_TAG } from '../../src/tensorboard/run';
import { api, waitFor } from './util';

/** Writes probes of a 4-layer tanh net whose gradient shrinks 30x per layer (a vanishing-gradient run). */
function writeSteps(w: EventFileWriter, from: number, to: number): void {
  const layers = ['h1', 'h2', 'h3', 'out'];
  for (let step = from; step <= to; step += 10) {
    if (step === 0) w.text(LAYERS_TAG, JSON.stringify(layers.map(name => ({ name, activation: name === 'out' ? 'linear' : 'tanh', type: 'dense' }))), 0);
    layers.forEach((name, i) => {
      const scale = Math.pow(30, i - (layers.length - 1));   // out: 1, h3: 1/30, h2: 1/900, h1: 1/27000
      const z = Array.from({ length: 512 }, (_, k) => Math.sin(k * 12.9898 + step) * 0.8);
      w.histogram(`${name}/preact`, z, step);
      w.histogram(`${name}/activation`, z.map(Math.tanh), step);
      w.histogram(`${name}/grad_preact`, z.map(v => v * 1e-2 * scale), step);
    });
    w.scalar('loss', 1 / (1 + step / 100), step);
  }
  w.flush();
}

describe('Diagnose TensorBoard Run', () => {
  it('diagnoses a log directory and follows it live while another writer appends', async () => {
    const lens = await api();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-tb-'));
    const writer = new EventFileWriter(path.join(dir, 'run-a'));
    writeSteps(writer, 0, 100);
    await vscode.commands.executeCommand('activationLens.diagnoseTensorBoard', vscode.Uri.file(dir));
    const view = await waitFor('the run view', () => lens.tensorboard.view);
    assert.equal(view.source, 'tensorboard');
    assert.deepEqual(view.layers.map(l => l.name), ['h1', 'h2', 'h3', 'out']);
    assert.equal(view.step, 100);
    const vanishing = view.findings?.find(f => f.kind === 'vanishing-gradient');
    assert.ok(vanishing, `findings: ${view.findings?.map(f => f.kind).join(', ')}`);
    assert.equal(vanishing.layerName, 'h1');
    writeSteps(writer, 110, 200);
    const later = await waitFor('the appended steps', () => (lens.tensorboard.view?.step ?? 0) >= 200 && lens.tensorboard.view);
    assert.ok(later.timeline.length >= 21, `probes: ${later.timeline.length}`);
    assert.equal(lens.tensorboard.list.runs[0].name, 'run-a');
  });
});
