/**
 * Writes the example TensorBoard logs of examples/tensorboard/ (committed; rerun to regenerate, byte-identical:
 * fixed seeds, file names and wall times): two runs of the core, logged as other frameworks log them.
 * - dying-relu/: examples/dying-relu-high-lr.nn.yaml (lr 3) with the PyTorch helper's tags (pre-activations,
 *   activations, dL/dz, the layer metadata, loss) and the weights: dead units and weights that stop changing.
 * - weights-only/: examples/healthy-relu-he.nn.yaml with only weights and biases as Keras' callback writes them
 *   (TF2 histogram tensors, epoch_loss): weight statistics and update ratios, no finding.
 * Run: node --require tsx/cjs scripts/make-example-tb-logs.ts
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig, loadInputs } from '../src/cli/input';
import { Trainer } from '../src/core/train';
import { logProbe, logWeights } from '../src/tensorboard/fromCore';
import { EventFileWriter } from '../src/tensorboard/writer';

const root = path.join(__dirname, '..', 'examples');
const out = path.join(root, 'tensorboard');
fs.rmSync(out, { recursive: true, force: true });

function write(configName: string, run: string, steps: number, every: number, samples: number, mode: 'helper' | 'keras'): void {
  const file = path.join(root, configName);
  const config = loadConfig(file, () => undefined);
  config.train.steps = steps;
  config.probe = { ...config.probe, every, samples };
  const { data } = loadInputs(config, file);
  let t0 = 1_700_000_000;
  const writer = new EventFileWriter(path.join(out, run), { fileName: `events.out.tfevents.1700000000.activation-lens.${run}`, wallTime: () => (t0 += 0.5) });
  let trainer: Trainer | null = null;
  trainer = new Trainer(config, data, {
    kernels: 'js',
    onProbe: p => {
      if (mode === 'helper') logProbe(writer, trainer!, p);
      else writer.scalar('epoch_loss', p.trainLoss, p.step / every);
      logWeights(writer, trainer!, mode === 'keras' ? p.step / every : p.step, { tf2: mode === 'keras' });
    },
  });
  trainer.run();
  writer.close();
}

write('dying-relu-high-lr.nn.yaml', 'dying-relu', 160, 40, 32, 'helper');
write('healthy-relu-he.nn.yaml', 'weights-only', 300, 30, 16, 'keras');
