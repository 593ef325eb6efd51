import * as vscode from 'vscode';
import { inferShapes } from '../config/shapes';
import { formatNumber } from '../format';
import { outputLayerIndex } from '../diagnosis/layers';
import type { RunController } from './runController';
import { isConfigDocument, parseDocument, toRange } from './documents';

/** CodeLens over each layer: its latest dead/saturated/gradient numbers, or its shape and size before a run. */
export class LayerCodeLensProvider implements vscode.CodeLensProvider {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;

  constructor(private readonly runs: RunController) {
    runs.onDidChange(e => { if (e.kind === 'state') this.changed.fire(); });
    vscode.workspace.onDidGrantWorkspaceTrust(() => this.changed.fire());
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    if (!isConfigDocument(doc)) return [];
    const { config } = parseDocument(doc);
    if (!config) return [];
    const record = this.runs.latest(doc.uri);
    const last = record?.view.timeline.at(-1);
    // The same output layer the rules divide by (the last layer with an activation, not a trailing dropout/flatten).
    const outGrad = last?.layers[outputLayerIndex(config.model.layers)]?.gradRms;
    const { shapes } = inferShapes(config.model.input, config.model.layers);
    const lenses: vscode.CodeLens[] = [];
    const first = config.model.layers[0]?.span;
    // Run trains on the config's data: offered only in a trusted workspace (the numbers below work everywhere).
    if (first && vscode.workspace.isTrusted) {
      lenses.push(new vscode.CodeLens(toRange(first), { title: record ? '$(play) Re-run diagnostics' : '$(play) Run diagnostics', command: 'activationLens.run', arguments: [doc.uri] }));
    }
    for (const layer of config.model.layers) {
      if (!layer.span) continue;
      const s = last?.layers[layer.index];
      const shape = shapes[layer.index];
      let title: string;
      if (s && record) {
        const parts = [
          s.deadFraction !== null ? `dead ${formatNumber(100 * s.deadFraction, 2)}%` : '',
          s.saturatedFraction !== null ? `saturated ${formatNumber(100 * s.saturatedFraction, 2)}%` : '',
          `gradRms ${formatNumber(s.gradRms)}${outGrad ? ` (×${formatNumber(s.gradRms / outGrad, 2)} of output)` : ''}`,
        ].filter(Boolean);
        title = `${layer.name}: ${parts.join(' · ')} @ step ${last!.step}`;
      } else {
        title = `${layer.name}: [${shape?.outputShape.join(', ') ?? '?'}] · ${shape?.params ?? 0} params`;
      }
      lenses.push(new vscode.CodeLens(toRange(layer.span), { title, command: 'activationLens.showPanel' }));
    }
    return lenses;
  }
}
