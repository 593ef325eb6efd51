/**
 * The `activation-lens` CLI (SPEC §6): diagnose, lint, compare. Bundled to dist/cli.js (with a shebang), which
 * calls main() and exits with its code: 0 = no finding at or above --fail-on, 1 = such findings, 2 = input that
 * could not be used (one `file:line:col: message` line on stderr). Commands are a table: adding one is one line.
 */
import { parseArgs, UsageError, intOption, type ArgSpec, type ParsedArgs } from './args';
import { InputFailure, ReportFile, applyEpochs, applyOverrides, loadConfig, loadInputs } from './input';
import { TRAIN_LIMITS } from '../config/parse';
import { findingsText, layerTable, suggestionsText, summaryLine, trialsText, verificationsText } from './output';
import { Progress } from './progress';
import { locationName, safeName } from '../format';
import { safeIo, type Io } from './io';
import { train } from '../core/train';
import { runThreads } from '../core/parallel';
import { diagnose, orderFindings } from '../diagnosis/rules';
import { staticRules } from '../diagnosis/staticRules';
import { suggestActivations } from '../diagnosis/suggestions';
import { RANKING_RULE, RETRY_RULE, compareActivations, compareVerdict, targetLayers } from '../diagnosis/trials';
import type { Finding, Severity } from '../diagnosis/types';
import { buildReport, reportJson } from '../report/json';
import { verificationTargets, verifySuggestion, verifySuggestionWith } from '../diagnosis/verify';
import { renderHtmlReport } from '../report/html';
import { diagnoseRunCommand } from './diagnoseRun';
import { chooseEngine, isEngineName, type EngineChoice } from '../engine/select';
import { pythonCandidates, TorchUnavailable } from '../engine/torch/python';
import { exitOnSignalsWhileJobsOpen, trainTorch } from '../engine/torch/run';
import type { NetworkConfig } from '../model';

export type { Io } from './io';

export interface Command {
  usage: string;
  args: ArgSpec;
  run(args: ParsedArgs, io: Io): Promise<number>;
}

const FAIL_ON: Record<string, Severity[]> = { error: ['error'], warning: ['error', 'warning'], never: [] };

function exitFor(findings: Finding[], failOn: string): number {
  const levels = Object.hasOwn(FAIL_ON, failOn) ? FAIL_ON[failOn] : undefined;
  if (!levels) throw new UsageError(`--fail-on must be error, warning or never, got "${failOn}"`);
  return findings.some(f => levels.includes(f.severity)) ? 1 : 0;
}

/** --engine (and --processes/--device, which need torch) applied to the config; the engine resolved. */
function engineFor(args: ParsedArgs, config: NetworkConfig): { config: NetworkConfig; choice: EngineChoice } {
  const flag = args.values.get('engine');
  if (flag !== undefined && !isEngineName(flag)) throw new UsageError(`--engine must be core, torch or auto, got "${flag}"`);
  const device = args.values.get('device');
  if (device !== undefined && !['cpu', 'cuda', 'auto'].includes(device)) throw new UsageError(`--device must be cpu, cuda or auto, got "${device}"`);
  const processes = intOption(args, 'processes'), threads = intOption(args, 'threads', 1, 1024);
  const c: NetworkConfig = { ...config, train: { ...config.train } };
  if (processes !== undefined) c.train.processes = processes;
  if (threads !== undefined) c.train.threads = threads;
  if (device !== undefined) c.train.device = device as 'cpu' | 'cuda' | 'auto';
  let choice: EngineChoice;
  try {
    choice = chooseEngine(c, { flag: flag as EngineChoice['engine'] | 'auto' | undefined }, pythonCandidates());
  } catch (e) {
    if (e instanceof TorchUnavailable) throw new UsageError(e.message);
    throw e;
  }
  if (choice.engine === 'core' && ((processes ?? 1) > 1 || device === 'cuda')) {
    throw new UsageError(`${processes !== undefined && processes > 1 ? '--processes' : '--device cuda'} needs the torch engine (--engine torch); ${choice.why}`);
  }
  return { config: c, choice };
}

function configArg(args: ParsedArgs, usage: string): string {
  if (args.positionals.length !== 1) throw new UsageError(args.positionals.length ? `expected one config file, got ${args.positionals.length}` : `missing <config>\nusage: ${usage}`);
  return args.positionals[0];
}

const diagnoseCmd: Command = {
  usage: 'activation-lens diagnose <config> [--json] [--html <file>] [--seed N] [--steps N | --epochs N] [--batch N] [--probe-samples N] [--verify] [--fail-on error|warning|never] [--engine core|torch|auto] [--processes N] [--threads N] [--device cpu|cuda|auto]',
  args: { flags: ['json', 'verify'], values: ['html', 'seed', 'steps', 'epochs', 'fail-on', 'batch', 'probe-samples', 'engine', 'processes', 'threads', 'device'] },
  async run(args, io) {
    const file = configArg(args, this.usage);
    const failOn = args.values.get('fail-on') ?? 'error';
    exitFor([], failOn);
    const steps = intOption(args, 'steps', 1, TRAIN_LIMITS.steps), epochs = intOption(args, 'epochs', 1, TRAIN_LIMITS.epochs), seed = intOption(args, 'seed', 0);
    if (steps !== undefined && epochs !== undefined) throw new UsageError('give --steps or --epochs, not both');
    // Where the report goes is checked before training: a bad path must not cost the run, nor replace an input.
    const html = args.values.get('html');
    const out = html !== undefined ? new ReportFile('--html', html, [file]) : undefined;
    try {
      return await diagnoseWith(args, io, { file, failOn, steps, epochs, seed, out });
    } finally {
      out?.close();
    }
  },
};

/** diagnose after its options are checked; `out` (--html) is closed by the caller. */
async function diagnoseWith(args: ParsedArgs, io: Io, o: { file: string; failOn: string; steps?: number; epochs?: number; seed?: number; out?: ReportFile }): Promise<number> {
  const { file, failOn, steps, epochs, seed, out } = o;
  const t0 = performance.now();
  let config = applyOverrides(loadConfig(file, l => io.stderr.write(`${l}\n`)), { seed, steps, batch: intOption(args, 'batch'), probeSamples: intOption(args, 'probe-samples') });
  const { data, initialWeights } = loadInputs(config, file);
  // Every file read so far (the data, a model's weights) is an input too: refuse before training.
  out?.check();
  if (epochs !== undefined) config = applyEpochs(config, epochs, data.train.n);
  const engine = engineFor(args, config);
  config = engine.config;
  const json = args.flags.has('json');
  if (engine.choice.engine === 'torch' && !json) io.stderr.write(`${engine.choice.why}\n`);
  const progress = new Progress(io.stderr, !json, config.train.steps);
  let result;
  try {
    const onStep = (s: number, loss: number) => progress.update(s, loss);
    result = engine.choice.engine === 'torch'
      ? await trainTorch({ config, data, python: engine.choice.python.command, cuda: engine.choice.python.cuda, initialWeights }, onStep)
      : train(config, data, { initialWeights, onStep, threads: runThreads(config.train.threads), onNote: l => io.stderr.write(`${l}\n`) });
  } catch (e) {
    throw new InputFailure(`${locationName(file)}:1:1: ${(e as Error).message}`);
  } finally {
    progress.done();
  }
  const findings = diagnose(config, result);
  const report = buildReport({ configPath: file, config, result, findings, suggestions: suggestActivations(config, findings) });
  if (args.flags.has('verify')) {
    // Each verification is one more run of the same length, from the same seed and data.
    const targets = verificationTargets(findings);
    const vp = new Progress(io.stderr, !json, 0);
    report.verifications = [];
    try {
      for (const [i, t] of targets.entries()) {
        vp.note(`verifying ${i + 1}/${targets.length}: ${t.finding.kind} ${t.finding.layerName}`);
        // On the run's engine: before and after must come from the same trainer.
        const choice = engine.choice;
        report.verifications.push(choice.engine === 'torch'
          ? await verifySuggestionWith({ config, result, findings }, data, t.finding, t.suggestion,
            (c, w) => trainTorch({ config: c, data, python: choice.python.command, cuda: choice.python.cuda, initialWeights: w }), { initialWeights })
          : verifySuggestion({ config, result, findings }, data, t.finding, t.suggestion, { train: { initialWeights } }));
      }
    } finally {
      vp.done();
    }
  }
  report.timing.wallMs = Math.round(performance.now() - t0);
  if (json) io.stdout.write(`${reportJson(report)}\n`);
  else {
    const parts = [summaryLine(report), '', layerTable(report), '', findingsText(report), '', suggestionsText(report), ''];
    if (report.verifications) parts.push(verificationsText(report), '');
    io.stdout.write(parts.join('\n'));
  }
  if (out) {
    out.write(renderHtmlReport(report));
    io.stderr.write(`wrote ${safeName(out.path)}\n`);
  }
  return exitFor(findings, failOn);
}

const lintCmd: Command = {
  usage: 'activation-lens lint <config> [--json] [--fail-on error|warning|never]',
  args: { flags: ['json'], values: ['fail-on'] },
  async run(args, io) {
    const file = configArg(args, this.usage);
    const failOn = args.values.get('fail-on') ?? 'error';
    exitFor([], failOn);
    const t0 = performance.now();
    let config, failure: InputFailure | undefined;
    try {
      config = loadConfig(file, l => io.stderr.write(`${l}\n`));
    } catch (e) {
      // Static lint still runs on what was understood (e.g. a Keras model up to an unsupported layer).
      if (!(e instanceof InputFailure) || !e.partial) throw e;
      failure = e;
      config = e.partial;
    }
    const findings = orderFindings(staticRules(config));
    const report = buildReport({ configPath: file, config, findings, suggestions: suggestActivations(config, findings), wallMs: performance.now() - t0 });
    io.stdout.write(args.flags.has('json') ? `${reportJson(report)}\n` : [summaryLine(report), '', layerTable(report), '', findingsText(report), ''].join('\n'));
    if (failure) { io.stderr.write(`${failure.line}\n`); return 2; }
    return exitFor(findings, failOn);
  },
};

const compareCmd: Command = {
  usage: 'activation-lens compare <config> --layer <index|name|all> [--candidates a,b,...] [--steps N] [--seed N] [--batch N] [--probe-samples N] [--json] [--engine core|torch|auto]',
  args: { flags: ['json'], values: ['layer', 'candidates', 'steps', 'seed', 'batch', 'probe-samples', 'engine'] },
  async run(args, io) {
    const file = configArg(args, this.usage);
    const layerArg = args.values.get('layer');
    if (!layerArg) throw new UsageError(`--layer is required\nusage: ${this.usage}`);
    const config = applyOverrides(loadConfig(file, l => io.stderr.write(`${l}\n`)), { seed: intOption(args, 'seed', 0), batch: intOption(args, 'batch'), probeSamples: intOption(args, 'probe-samples') });
    const layers = config.model.layers;
    const layer = layerArg === 'all' ? 'all' as const
      : /^\d+$/.test(layerArg) ? Number(layerArg) : layers.find(l => l.name === layerArg)?.index;
    if (layer === undefined || (layer !== 'all' && !layers[layer])) {
      throw new UsageError(`no layer "${layerArg}" (layers: ${layers.map(l => `${l.index} ${l.name}`).join(', ')})`);
    }
    const candidates = args.values.get('candidates')?.split(',').map(s => s.trim()).filter(Boolean);
    if (candidates?.length === 0) throw new UsageError('--candidates names no activation: give a comma-separated list (e.g. relu,tanh,gelu), or leave it out to compare the default set');
    const trialSteps = intOption(args, 'steps', 1, TRAIN_LIMITS.steps);
    const { data, initialWeights } = loadInputs(config, file);
    const engine = engineFor(args, config).choice;
    const json = args.flags.has('json');
    if (engine.engine === 'torch' && !json) io.stderr.write(`${engine.why}\n`);
    const t0 = performance.now();
    let n = 0;
    const progress = new Progress(io.stderr, !json, 0);
    let ranked;
    try {
      ranked = await compareActivations(config, data, { layer, candidates, steps: trialSteps, parallel: true, initialWeights,
        train: engine.engine === 'torch' ? (req, d) => trainTorch({ config: req.config, data: d, python: engine.python.command, cuda: engine.python.cuda, maxSteps: req.steps, probeEvery: req.probeEvery, initialWeights: req.initialWeights }) : undefined,
        onTrial: r => progress.note(`trial ${++n}: ${r.activation} val loss ${r.trial?.valLoss.toPrecision(3)}`) });
    } catch (e) {
      throw new UsageError((e as Error).message);
    } finally {
      progress.done();
    }
    const findings = orderFindings(staticRules(config));
    const targets = targetLayers(config, layer);
    const where = layer === 'all' ? 'all hidden layers' : layers[layer].name;
    const currentOf = (t: number) => ('activation' in layers[t] ? (layers[t] as { activation: { name: string } }).activation.name : 'linear');
    const verdict = compareVerdict(ranked, currentOf(targets[0]), where);
    const report = buildReport({ configPath: file, config, findings,
      suggestions: targets.map(t => ({ layer: t, current: currentOf(t), ranked })),
      wallMs: performance.now() - t0 });
    report.compare = { layer, layers: targets, steps: ranked[0]?.trial?.lossCurve.length ?? 0, lr: config.train.lr,
      rule: RANKING_RULE, retryRule: RETRY_RULE, verdict: verdict.message, winner: verdict.winner?.activation ?? null };
    if (json) io.stdout.write(`${reportJson(report)}\n`);
    else {
      const lowered = ranked.some(r => r.lr !== undefined);
      io.stdout.write([`${locationName(file)}: ${ranked.length} candidates for ${where}, same seed and data, ${formatSeconds(performance.now() - t0)}`, '',
        trialsText(ranked, config.train.lr), '',
        `Ranking: ${RANKING_RULE}.`,
        `Fair trials: ${RETRY_RULE}.${lowered ? ` * = a lower rate than the config's ${config.train.lr}; the rate is global (Apply sets train.lr for the whole network).` : ''}`,
        '', verdict.message, ''].join('\n'));
    }
    return 0;
  },
};

const formatSeconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The command table. Another command (e.g. diagnose-run for TensorBoard logs) is one more entry. */
export const COMMANDS: Record<string, Command> = {
  diagnose: diagnoseCmd,
  lint: lintCmd,
  compare: compareCmd,
  'diagnose-run': diagnoseRunCommand,
};

function help(): string {
  return ['usage:', ...Object.values(COMMANDS).map(c => `  ${c.usage}`),
    '', 'exit codes: 0 = no finding at or above --fail-on (default error), 1 = such findings, 2 = unusable input'].join('\n');
}

export async function main(argv: string[], rawIo: Io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const io = safeIo(rawIo);
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    (name ? io.stdout : io.stderr).write(`${help()}\n`);
    return name ? 0 : 2;
  }
  const cmd = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!cmd) { io.stderr.write(`activation-lens: unknown command "${name}"\n${help()}\n`); return 2; }
  try {
    return await cmd.run(parseArgs(rest, cmd.args), io);
  } catch (e) {
    if (e instanceof InputFailure) { io.stderr.write(`${e.line}\n`); return 2; }
    if (e instanceof UsageError) { io.stderr.write(`activation-lens ${name}: ${e.message}\n`); return 2; }
    io.stderr.write(`activation-lens ${name}: internal error: ${(e as Error).stack ?? e}\n`);
    return 2;
  }
}

if (require.main === module) {
  // Ctrl-C (or a kill) while a torch runner's job folder is open exits through process.exit, so that the folder is
  // removed (src/engine/torch/run.ts); otherwise the signal's default action ends the process at once, also inside
  // the core's synchronous training.
  exitOnSignalsWhileJobsOpen();
  void main(process.argv.slice(2)).then(code => { process.exitCode = code; });
}
