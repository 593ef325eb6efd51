/**
 * The literature scenarios of issue #5 (the configs scenarios.test.ts runs), as data, so other suites (verification)
 * can run the same nets. Each is a config object with a fixed seed, short enough for a unit test.
 */
import { dense, stack } from './helpers';

const UNIFORM_1_SQRT_N = { name: 'variance_scaling', scale: 1 / 3, mode: 'fan_in', distribution: 'uniform' }; // U[-1/sqrt(n), 1/sqrt(n)]
const TANH_VAR4 = { name: 'variance_scaling', scale: 4, mode: 'fan_in', distribution: 'truncated_normal' };

export const LITERATURE: Record<string, object> = {
  'He et al. 2015: 30 relu layers, Var(w) = 1/fan_in': {
    seed: 3,
    data: { source: 'gaussians', samples: 400, classes: 3, features: 8, noise: 1 },
    model: { layers: [...stack(30, 64, 'relu', 'lecun_normal'), dense(3, 'softmax')] },
    train: { loss: 'cross_entropy', optimizer: 'sgd', lr: 0.01, batch: 16, steps: 30 },
    probe: { every: 3, samples: 64 },
  },
  'Glorot & Bengio 2010: 5 sigmoid layers, U[-1/sqrt(n), 1/sqrt(n)]': {
    seed: 0,
    data: { source: 'gaussians', samples: 1000, classes: 5, features: 2, noise: 1 },
    model: { layers: [...stack(5, 100, 'sigmoid', UNIFORM_1_SQRT_N), dense(5, 'softmax')] },
    train: { loss: 'cross_entropy', optimizer: 'sgd', lr: 0.1, batch: 10, steps: 600 },
    probe: { every: 20, samples: 200 },
  },
  'relu killed by plain SGD at lr 2': {
    seed: 0,
    data: { source: 'spiral', samples: 1000, classes: 3 },
    model: { layers: [dense(64, 'relu', 'he_normal'), dense(64, 'relu', 'he_normal'), dense(3, 'softmax')] },
    train: { loss: 'cross_entropy', optimizer: 'sgd', lr: 2, batch: 16, steps: 200 },
    probe: { every: 5, samples: 200 },
  },
  'Lu et al. 2019: width 2, depth 20, relu': {
    seed: 0,
    data: { source: 'moons', samples: 500 },
    model: { layers: [...stack(20, 2, 'relu', 'he_normal'), dense(1, 'sigmoid')] },
    train: { loss: 'binary_cross_entropy', optimizer: 'adam', lr: 0.001, batch: 32, steps: 60 },
    probe: { every: 5, samples: 100 },
  },
  'deep tanh, Var(w) = 4/fan_in': {
    seed: 0,
    data: { source: 'spiral', samples: 400, classes: 3 },
    model: { layers: [...stack(40, 64, 'tanh', TANH_VAR4), dense(3, 'softmax')] },
    train: { loss: 'cross_entropy', optimizer: 'sgd', lr: 0.001, batch: 16, steps: 40 },
    probe: { every: 2, samples: 64 },
  },
  'deep tanh, Var(w) = 4/fan_in, diverging at lr 2': {
    seed: 0,
    data: { source: 'sine', samples: 400 },
    model: { layers: [...stack(30, 32, 'tanh', TANH_VAR4), dense(1, 'linear')] },
    train: { loss: 'mse', optimizer: 'sgd', lr: 2, batch: 16, steps: 60 },
    probe: { every: 3, samples: 64 },
  },
};
