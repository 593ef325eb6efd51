import * as vscode from 'vscode';
import { inferShapes } from '../config/shapes';
import { formatNumber, layerLabel } from '../format';
import { outputLayerIndex } from '../diagnosis/layers';
import type { RunController } from './runController';
import { isConfigDocument, parseDocument, toRange } from './documents';
import { documentHash } from './textHash';

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
    // Numbers from a run of other text would sit on layers they were not measured on.
    const stale = !!record && record.textHash !== documentHash(doc);
    const last = stale ? undefined : record?.view.timeline.at(-1);
    // The same output layer the rules divide by (the last layer with an activation, not a trailing dropout/flatten).
    const outGrad = last?.layers[outputLayerIndex(config.model.layers)]?.gradRms;
    const { shapes } = inferShapes(config.model.input, config.model.layers);
    const lenses: vscode.CodeLens[] = [];
    const first = config.model.layers[0]?.span;
    // Run trains on the config's data: offered only in a trusted workspace (the numbers below work everywhere).
    if (first && vscode.workspace.isTrusted) {
      const title = !record ? '$(play) Run diagnostics' : stale ? '$(warning) Config changed since the run: re-run' : '$(play) Re-run diagnostics';
      lenses.push(new vscode.CodeLens(toRange(first), { title, command: 'activationLens.run', arguments: [doc.uri] }));
    }
    // Imported layers (model.keras: / model.onnx:) all point at the one reference line: one short lens there.
    const byLine = new Map<number, typeof config.model.layers>();
    for (const layer of config.model.layers) {
      if (!layer.span) continue;
      const line = layer.span.start.line;
      byLine.set(line, [...(byLine.get(line) ?? []), layer]);
    }
    for (const [, layers] of byLine) {
      if (layers.length > 1) {
        const params = layers.reduce((n, l) => n + (shapes[l.index]?.params ?? 0), 0);
        const worst = last ? layers.filter(l => (last.layers[l.index]?.deadFraction ?? 0) >= 0.5 || (last.layers[l.index]?.saturatedFraction ?? 0) >= 0.5).length : 0;
        const title = `${layers.length} imported layers · ${params} params${last ? ` · ${worst} dead or saturated` : ''}`;
        lenses.push(new vscode.CodeLens(toRange(layers[0].span!), { title, command: 'activationLens.showPanel' }));
        continue;
      }
      const layer = layers[0];
      const s = last?.layers[layer.index];
      const shape = shapes[layer.index];
      let title: string;
      if (s) {
        // Short enough not to be cut at the editor's edge: the panel has the rest.
        const parts = [
          s.deadFraction !== null ? `dead ${formatNumber(100 * s.deadFraction, 2)}%` : '',
          s.saturatedFraction !== null ? `sat ${formatNumber(100 * s.saturatedFraction, 2)}%` : '',
          outGrad ? `grad ×${formatNumber(s.gradRms / outGrad, 2)} of output` : `gradRms ${formatNumber(s.gradRms)}`,
        ].filter(Boolean);
        title = `${layerLabel(layer)}: ${parts.join(' · ')}`;
      } else {
        title = `${layerLabel(layer)}: [${shape?.outputShape.join(', ') ?? '?'}] · ${shape?.params ?? 0} params`;
      }
      lenses.push(new vscode.CodeLens(toRange(layer.span!), { title, command: 'activationLens.showPanel' }));
    }
    return lenses;
  }
}
