import * as vscode from 'vscode';
import type { InputProblem, NetworkConfig, Span } from '../model';
import type { Finding } from '../diagnosis/types';
import { staticFindings } from '../diagnosis/rules';
import { findingSpanOf } from '../diagnosis/layers';
import { thresholdProblems } from '../diagnosis/thresholds';
import type { RunController } from './runController';
import { isConfigDocument, parseDocument, toRange } from './documents';
import { readSettings } from './settings';
import { documentHash } from './textHash';

const SEVERITY: Record<string, vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error, warning: vscode.DiagnosticSeverity.Warning, info: vscode.DiagnosticSeverity.Information,
};

/** Our diagnostics carry the finding they came from, so quick fixes can apply its suggestions. */
export class FindingDiagnostic extends vscode.Diagnostic {
  constructor(range: vscode.Range, readonly finding: Finding, readonly fromRun: boolean) {
    super(range, finding.message, SEVERITY[finding.severity]);
    this.source = 'Activation Lens';
    this.code = finding.kind;
  }
}

/**
 * Where a finding points in the CURRENT text: re-derived from its layer, so it follows edits made after a run,
 * at the key the rules chose (findingSpanOf: the same place the CLI prints).
 */
export function findingSpan(config: NetworkConfig, f: Finding): Span | undefined {
  const layer = config.model.layers[f.layer];
  if (!layer) return f.span;
  return findingSpanOf(layer, f.kind) ?? f.span;
}

/**
 * Problems: parse errors and static findings as the user types (debounced), plus the findings of the latest run,
 * each at its exact range and kept in place as the file changes.
 */
export class ProblemsReporter implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('activation-lens');
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly runs: RunController, private readonly delayMs = 300) {
    this.subscriptions.push(
      vscode.workspace.onDidOpenTextDocument(d => this.refresh(d)),
      vscode.workspace.onDidChangeTextDocument(e => this.schedule(e.document)),
      vscode.workspace.onDidCloseTextDocument(d => this.collection.delete(d.uri)),
      vscode.workspace.onDidChangeConfiguration(e => { if (e.affectsConfiguration('activationLens')) this.refreshAll(); }),
      runs.onDidChange(e => {
        if (e.kind !== 'state') return;
        const doc = vscode.workspace.textDocuments.find(d => d.uri.toString() === e.record.uri);
        if (doc) this.refresh(doc);
      }),
    );
    this.refreshAll();
  }

  get diagnostics(): vscode.DiagnosticCollection { return this.collection; }

  refreshAll(): void { for (const d of vscode.workspace.textDocuments) this.refresh(d); }

  private schedule(doc: vscode.TextDocument): void {
    if (!isConfigDocument(doc) || !readSettings(doc.uri).lintOnType) return;
    const key = doc.uri.toString();
    clearTimeout(this.timers.get(key));
    // Debounced: the old diagnostics stay until the new ones are ready, so nothing flickers while typing.
    this.timers.set(key, setTimeout(() => { this.timers.delete(key); this.refresh(doc); }, this.delayMs));
  }

  refresh(doc: vscode.TextDocument): void {
    if (!isConfigDocument(doc)) return;
    const { config, problems } = parseDocument(doc);
    const out: vscode.Diagnostic[] = problems.map(p => problemDiagnostic(doc, p));
    if (config) {
      // Unknown diagnostics: keys (a typo would silently keep the default threshold), as the CLI reports them.
      out.push(...thresholdProblems(config.diagnostics, config.spans).map(p => problemDiagnostic(doc, p)));
      const settings = readSettings(doc.uri);
      const findings = staticFindings(config, { ...settings.thresholds, ...config.diagnostics });
      const record = this.runs.latest(doc.uri);
      const runOnly = (record?.findings ?? []).filter(f => f.step !== null);
      // Findings of a run on other text are kept (the user may undo) but dimmed and marked, never shown as current.
      const stale = !!record && record.textHash !== documentHash(doc);
      for (const f of findings) out.push(this.findingDiagnostic(config, f, false));
      for (const f of runOnly) {
        const d = this.findingDiagnostic(config, f, true);
        if (stale) {
          d.message = `(config changed since this run: re-run to refresh) ${d.message}`;
          d.severity = vscode.DiagnosticSeverity.Hint;
          d.tags = [vscode.DiagnosticTag.Unnecessary];
        }
        out.push(d);
      }
    }
    this.collection.set(doc.uri, out);
  }

  private findingDiagnostic(config: NetworkConfig, f: Finding, fromRun: boolean): FindingDiagnostic {
    const span = findingSpan(config, f);
    return new FindingDiagnostic(span ? toRange(span) : new vscode.Range(0, 0, 0, 0), f, fromRun);
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.collection.dispose();
    for (const d of this.subscriptions) d.dispose();
  }
}

function problemDiagnostic(doc: vscode.TextDocument, p: InputProblem): vscode.Diagnostic {
  const range = p.span ? toRange(p.span) : doc.lineAt(0).range;
  const d = new vscode.Diagnostic(range, p.message, p.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning);
  d.source = 'Activation Lens';
  return d;
}
