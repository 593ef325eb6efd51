/** Shared by the CLI tests: run the CLI in-process, validate every JSON report against the published schema. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Ajv from 'ajv';
import { main } from '../../../src/cli/main';
import { bufferIo } from '../../../src/cli/io';
import type { Report } from '../../../src/report/json';

const schema = JSON.parse(fs.readFileSync(path.join(__dirname, '../../../schemas/report.schema.json'), 'utf8'));
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

export function assertValidReport(report: unknown): asserts report is Report {
  if (!validate(report)) throw new Error(`report does not match schemas/report.schema.json: ${JSON.stringify(validate.errors?.slice(0, 5), null, 1)}`);
}

export async function runCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = bufferIo();
  const code = await main(args, io);
  return { code, out: io.out(), err: io.err() };
}

/** `<command> <file> ... --json`, parsed and schema-checked. */
export async function cliJson(command: 'diagnose' | 'lint' | 'compare', file: string, extra: string[] = []): Promise<{ code: number; report: Report; err: string }> {
  const r = await runCli([command, file, ...extra, '--json']);
  if (r.code === 2) throw new Error(`exit 2: ${r.err}`);
  const report = JSON.parse(r.out) as unknown;
  assertValidReport(report);
  return { code: r.code, report, err: r.err };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'al-scenarios-'));

/** Writes a config object as `<name>.nn.json` in a temp folder; returns its path. */
export function writeConfig(name: string, config: object): string {
  const file = path.join(dir, `${name}.nn.json`);
  fs.writeFileSync(file, JSON.stringify(config, null, 1));
  return file;
}

export function writeText(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

export const dense = (units: number, activation: string | object, init?: string | object) =>
  ({ type: 'dense', units, activation, ...(init ? { init } : {}) });

/** `n` copies of a dense layer. */
export const stack = (n: number, units: number, activation: string | object, init?: string | object) =>
  Array.from({ length: n }, () => dense(units, activation, init));

export const findingsOf = (r: Report, kind: string) => r.findings.filter(f => f.kind === kind);
export const severe = (r: Report) => r.findings.filter(f => f.severity !== 'info');
