/** Small builders for core tests: configs and datasets without the parser or the data loaders. */
import type { ActivationSpec, Dataset, LayerSpec, NetworkConfig, TrainSpec } from '../../../src/model';
import { resolveInit } from '../../../src/core/initializers';
import { Rng } from '../../../src/core/rng';

export type LayerInput = { type: LayerSpec['type']; [key: string]: unknown };

/** Fill defaults the parser would fill (Keras defaults). `act` may be a name or a spec. */
export function layers(list: LayerInput[]): LayerSpec[] {
  return list.map((l, index) => {
    const name = (l.name as string) ?? `${l.type}_${index}`;
    const act = (a: unknown): ActivationSpec => (typeof a === 'string' ? { name: a } : (a as ActivationSpec) ?? { name: 'linear' }) as ActivationSpec;
    const init = typeof l.init === 'string' ? resolveInit(l.init as string)! : (l.init as LayerSpec extends { init: infer I } ? I : never) ?? resolveInit('glorot_uniform')!;
    const biasInit = resolveInit(typeof l.biasInit === 'string' ? l.biasInit : 'zeros')!;
    switch (l.type) {
      case 'dense': return { type: 'dense', name, index, units: l.units as number, activation: act(l.activation), init, biasInit, useBias: l.useBias !== false };
      case 'conv2d': return { type: 'conv2d', name, index, filters: l.filters as number, kernel: (l.kernel as [number, number]) ?? [3, 3], stride: (l.stride as [number, number]) ?? [1, 1], padding: (l.padding as 'same' | 'valid') ?? 'valid', activation: act(l.activation), init, biasInit, useBias: l.useBias !== false };
      case 'maxpool2d': case 'avgpool2d': {
        const size = (l.size as [number, number]) ?? [2, 2];
        return { type: l.type, name, index, size, stride: (l.stride as [number, number]) ?? size, padding: (l.padding as 'same' | 'valid') ?? 'valid' };
      }
      case 'global_avgpool2d': return { type: 'global_avgpool2d', name, index };
      case 'flatten': return { type: 'flatten', name, index };
      case 'dropout': return { type: 'dropout', name, index, rate: (l.rate as number) ?? 0.5 };
      case 'batchnorm': return { type: 'batchnorm', name, index, momentum: (l.momentum as number) ?? 0.99, epsilon: (l.epsilon as number) ?? 1e-3 };
      case 'activation': return { type: 'activation', name, index, activation: act(l.activation) };
    }
  });
}

export function trainSpec(t: Partial<TrainSpec> = {}): TrainSpec {
  return { loss: 'mse', optimizer: 'sgd', lr: 0.01, batch: 8, steps: 10, weightDecay: 0, momentum: 0.9, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, rho: 0.9, ...t };
}

export function makeConfig(input: number[], layerList: LayerInput[], t: Partial<TrainSpec> = {}, extra: Partial<NetworkConfig> = {}): NetworkConfig {
  return {
    seed: 3, data: { source: 'teacher', samples: 64, noise: 0, validation: 0.25 },
    model: { input, layers: layers(layerList) }, train: trainSpec(t), probe: { every: 1, samples: 16 }, diagnostics: {}, spans: {},
    ...extra,
  };
}

/** Random N(0,1) inputs; regression targets of width `out`, or class indices when classes is given. */
export function randomData(inputShape: number[], out: number, n: number, seed: number, classes?: number): Dataset {
  const r = new Rng(seed), size = inputShape.reduce((a, b) => a * b, 1);
  const split = (m: number) => {
    const x = new Float32Array(m * size).map(() => r.normal());
    const y = classes ? new Float32Array(m).map(() => r.int(classes)) : new Float32Array(m * out).map(() => r.normal());
    return { x, y, n: m };
  };
  return { inputShape, task: classes ? (classes === 1 ? 'binary' : 'classification') : 'regression', targetDim: classes ?? out, train: split(n), val: split(Math.max(4, n >> 2)) };
}

/**
 * Whether to try once more to see a helper thread take part: at least 200 tries, then on for up to a minute. A
 * helper takes part only when the OS runs it in time; with both cores busy (CI under load) that can take many
 * more tries than usual, and a fixed count failed once in such a run.
 */
export const keepTrying = (since: number, attempt: number) => attempt < 200 || Date.now() - since < 60_000;

/**
 * Runs `twoThreads` (a run on 2 threads reporting the chunks its helpers ran) until a helper takes part, as long as
 * keepTrying allows, `check`ing every run's result; whether a helper took part.
 */
export function untilHelped<T extends { handed: number }>(twoThreads: () => T, check: (run: T) => void): boolean {
  for (let attempt = 0, since = Date.now(); keepTrying(since, attempt); attempt++) {
    const run = twoThreads();
    check(run);
    if (run.handed > 0) return true;
  }
  return false;
}
