/**
 * Event logs of the project's own training core, with the same tags and metadata as the PyTorch helper
 * (examples/pytorch/activation_lens_hooks.py): per layer with an activation "<layer>/preact" (z),
 * "<layer>/activation" (f(z)) and "<layer>/grad_preact" (dLoss/dz) histograms of the probe batch, the
 * "activation_lens/layers" metadata text, and loss / val_loss / grad_norm scalars. Used to check that a run
 * diagnosed from its logs gives the findings of the same run diagnosed live.
 */
import type { Trainer } from '../core/train';
import type { ProbePoint } from '../core/types';
import { LAYERS_TAG } from './run';
import type { EventFileWriter } from './writer';

/** The logged layers: those with a pre-activation (dense, conv2d, activation). */
function loggedLayers(trainer: Trainer) {
  return trainer.net.layers.filter(l => l.z && l.activation);
}

/** The metadata text: [{name, activation, type}] in layer order. */
export function layersMetadata(trainer: Trainer): string {
  return JSON.stringify(loggedLayers(trainer).map(l => ({
    name: l.spec.name, activation: l.activation!.name, type: l.spec.type === 'conv2d' ? 'conv2d' : 'dense',
    ...(l.activation!.alpha !== undefined ? { alpha: l.activation!.alpha } : {}),
  })));
}

/**
 * Writes one probe: call from TrainOptions.onProbe, while the layer buffers still hold the probe batch
 * (true when the probe batch is the whole validation split and the net has no dropout/batchnorm).
 */
export function logProbe(writer: EventFileWriter, trainer: Trainer, point: ProbePoint): void {
  if (point.step === 0) writer.text(LAYERS_TAG, layersMetadata(trainer), 0);
  const rows = trainer.probeRows;
  for (const l of loggedLayers(trainer)) {
    const n = rows * l.outSize;
    writer.histogram(`${l.spec.name}/preact`, l.z!.v.subarray(0, n), point.step);
    writer.histogram(`${l.spec.name}/activation`, l.out.v.subarray(0, n), point.step);
    writer.histogram(`${l.spec.name}/grad_preact`, l.dOut.v.subarray(0, n), point.step);
  }
  writer.scalar('loss', point.trainLoss, point.step);
  writer.scalar('val_loss', point.valLoss, point.step);
  writer.scalar('grad_norm', point.gradNorm, point.step);
  writer.flush();
}


/**
 * Writes only the weights and biases of every dense/conv2d layer ("<layer>/weight", "<layer>/bias"), as a
 * PyTorch `named_parameters()` loop or the Keras callback (`tf2: true`: [k,3] tensors, "<layer>/kernel_0/histogram")
 * would: the weight-only logs most runs in the wild have. Call from TrainOptions.onProbe.
 */
export function logWeights(writer: EventFileWriter, trainer: Trainer, step: number, opts: { tf2?: boolean } = {}): void {
  for (const l of trainer.net.layers) {
    for (const p of l.params) {
      if (!p.trainable || (!p.kernel && p.name !== 'bias')) continue;
      const values = p.w.v.slice(0, p.w.n);
      if (opts.tf2) writer.histogramTensor(`${l.spec.name}/${p.kernel ? 'kernel_0' : 'bias_0'}/histogram`, values, step);
      else writer.histogram(`${l.spec.name}/${p.kernel ? 'weight' : 'bias'}`, values, step);
    }
  }
  writer.flush();
}
