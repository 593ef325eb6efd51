"""Activation Lens' PyTorch engine: trains a NetworkConfig with torch and streams the core's protocol.

Started by the extension or the CLI (src/engine/torch/) as

    python activation_lens_runner.py <job.json>

The job holds the NetworkConfig, the run plan the core would use (steps, probe interval, batch, probe rows) and
the path of a float32 file with the data set the TypeScript data sources produced and the initial weights the
core drew from the seed. Output: one JSON object per line on stdout, the messages of src/protocol.ts
(started, stats, done, cancelled, error), with non-finite numbers as the strings "NaN", "Infinity",
"-Infinity". Input: a line "cancel" on stdin stops the run between two steps. A job with "removeDir": true is in a
directory of its own (activation-lens-torch-*, with its data file), which the runner removes as it exits: the host
that wrote it may be gone by then (a Compare cancelled by terminating its worker thread never sees the process close).

Semantics follow src/core exactly (Keras conventions): channels-last tensors, TensorFlow "same" padding,
Keras optimizers (decoupled weight decay, adam's epsilon outside the bias correction), batchnorm with Keras'
momentum and biased variance, losses fused with softmax/sigmoid outputs, the same batch order (the core's
mulberry32 shuffle), and the same probe statistics on the same probe batch.

With "processes": N > 1 the runner starts N-1 more ranks of itself and trains with DistributedDataParallel
(gloo on CPU, nccl on CUDA): each step's global batch is split across ranks, gradients are averaged, and rank 0
probes and streams. Needs only torch.
"""
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

STATS_INTERVAL_S = 0.05
HIST_BINS = 30
EPS = 1e-7
MASK = 0xFFFFFFFF
SELU_LAMBDA = 1.0507009873554805
SELU_ALPHA = 1.6732632423543772
TRUNC_NORMAL_STDDEV = 0.87962566103423978


# ---- the core's random streams (src/core/rng.ts), for the same batch order ---------------------------------

def _imul(a, b):
    return (a * b) & MASK


class Rng:
    """mulberry32, bit-identical to src/core/rng.ts."""

    def __init__(self, seed):
        self.state = ((seed & MASK) ^ 0x9E3779B9) & MASK

    @staticmethod
    def derive(seed, purpose):
        h = (seed & MASK) ^ 0x811C9DC5
        for ch in purpose:
            h = _imul(h ^ ord(ch), 0x01000193)
        return Rng(h)

    def next(self):
        self.state = (self.state + 0x6D2B79F5) & MASK
        t = self.state
        t = _imul(t ^ (t >> 15), t | 1)
        t = (t ^ ((t + _imul(t ^ (t >> 7), t | 61)) & MASK)) & MASK
        return ((t ^ (t >> 14)) & MASK) / 4294967296.0

    def shuffle(self, a):
        for i in range(len(a) - 1, 0, -1):
            j = int(self.next() * (i + 1))
            a[i], a[j] = a[j], a[i]


# ---- output -------------------------------------------------------------------------------------------------

def _clean(v):
    """JSON has no NaN/Infinity: they travel as strings the TypeScript side turns back into numbers."""
    if isinstance(v, float):
        if v != v:
            return "NaN"
        if v in (math.inf, -math.inf):
            return "Infinity" if v > 0 else "-Infinity"
        return v
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    return v


_out_lock = threading.Lock()


def emit(msg):
    line = json.dumps(_clean(msg), separators=(",", ":"))
    with _out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


# ---- activations (src/core/activations.ts) -------------------------------------------------------------------

def activation_fn(spec):
    name = spec["name"]
    alpha = spec.get("alpha")
    if name == "linear":
        return lambda z: z
    if name == "sigmoid":
        return torch.sigmoid
    if name == "tanh":
        return torch.tanh
    if name == "relu":
        return F.relu
    if name == "relu6":
        return F.relu6
    if name == "leaky_relu":
        a = 0.01 if alpha is None else alpha
        return lambda z: F.leaky_relu(z, a)
    if name == "elu":
        a = 1.0 if alpha is None else alpha
        return lambda z: F.elu(z, a)
    if name == "selu":
        return F.selu
    if name == "gelu":
        approx = "tanh" if spec.get("approximate") == "tanh" else "none"
        return lambda z: F.gelu(z, approximate=approx)
    if name == "swish":
        b = spec.get("beta")
        if b is None or b == 1:
            return F.silu
        return lambda z: z * torch.sigmoid(b * z)
    if name == "mish":
        return lambda z: z * torch.tanh(F.softplus(z))
    if name == "softplus":
        # max(x,0) + log1p(e^-|x|), as the core: no threshold switch.
        return lambda z: torch.clamp(z, min=0) + torch.log1p(torch.exp(-torch.abs(z)))
    if name == "softsign":
        return F.softsign
    if name == "hard_sigmoid":
        return F.hardsigmoid
    if name == "softmax":
        return lambda z: torch.softmax(z, dim=-1)
    raise ValueError("unsupported activation %s" % name)


# ---- layers (src/core/layers.ts), channels-last -----------------------------------------------------------------

def conv_axis(size, k, stride, padding):
    if padding == "valid":
        return max(0, (size - k) // stride + 1), 0, 0
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    return out, total // 2, total - total // 2


class Layer(nn.Module):
    """One config layer. forward returns (z, a): z is the pre-activation for layers with one, else None."""

    def __init__(self, spec, in_shape):
        super().__init__()
        self.spec = spec
        self.kind = spec["type"]
        self.in_shape = list(in_shape)
        self.act = None
        self.act_name = None
        self.kernel = None
        self.bias = None
        self.alpha = None
        t = self.kind
        if t == "dense":
            units = spec["units"]
            self.out_shape = [units]
            self.kernel = nn.Parameter(torch.zeros(in_shape[0], units))
            if spec.get("useBias", True):
                self.bias = nn.Parameter(torch.zeros(units))
            self._act(spec["activation"], units)
        elif t == "conv2d":
            h, w, c = in_shape
            kh, kw = spec["kernel"]
            sh, sw = spec["stride"]
            oh, pt, pb = conv_axis(h, kh, sh, spec["padding"])
            ow, pl, pr = conv_axis(w, kw, sw, spec["padding"])
            self.pad = (0, 0, pl, pr, pt, pb)  # F.pad order for NHWC: C, then W, then H
            self.stride = (sh, sw)
            f = spec["filters"]
            self.out_shape = [oh, ow, f]
            self.kernel = nn.Parameter(torch.zeros(kh, kw, c, f))
            if spec.get("useBias", True):
                self.bias = nn.Parameter(torch.zeros(f))
            self._act(spec["activation"], f)
        elif t in ("maxpool2d", "avgpool2d"):
            h, w, c = in_shape
            ph, pw = spec["size"]
            sh, sw = spec["stride"]
            oh, pt, pb = conv_axis(h, ph, sh, spec["padding"])
            ow, pl, pr = conv_axis(w, pw, sw, spec["padding"])
            self.pad = (pl, pr, pt, pb)
            self.size = (ph, pw)
            self.stride = (sh, sw)
            self.out_shape = [oh, ow, c]
        elif t == "global_avgpool2d":
            self.out_shape = [in_shape[2]]
        elif t == "flatten":
            n = 1
            for d in in_shape:
                n *= d
            self.out_shape = [n]
        elif t == "dropout":
            self.out_shape = list(in_shape)
            self.rate = spec["rate"]
        elif t == "batchnorm":
            self.out_shape = list(in_shape)
            c = in_shape[-1]
            self.gamma = nn.Parameter(torch.ones(c))
            self.beta = nn.Parameter(torch.zeros(c))
            self.register_buffer("moving_mean", torch.zeros(c))
            self.register_buffer("moving_variance", torch.ones(c))
            self.momentum = spec["momentum"]
            self.epsilon = spec["epsilon"]
        elif t == "activation":
            self.out_shape = list(in_shape)
            self._act(spec["activation"], in_shape[-1])
        else:
            raise ValueError("unsupported layer type %s" % t)
        self.units = self.out_shape[-1]

    def _act(self, spec, units):
        self.act_name = spec["name"]
        if self.act_name == "prelu":
            a = spec.get("alpha")
            self.alpha = nn.Parameter(torch.full((units,), 0.25 if a is None else float(a)))
        else:
            self.act = activation_fn(spec)

    def activate(self, z):
        if self.act_name == "prelu":
            return torch.where(z > 0, z, self.alpha * z)
        return self.act(z)

    def params_in_core_order(self):
        """(name, tensor) in the order the core allocates them (layers.ts allocate)."""
        if self.kind in ("dense", "conv2d"):
            out = [("kernel", self.kernel)]
            if self.bias is not None:
                out.append(("bias", self.bias))
            if self.alpha is not None:
                out.append(("alpha", self.alpha))
            return out
        if self.kind == "batchnorm":
            return [("gamma", self.gamma), ("beta", self.beta), ("moving_mean", self.moving_mean), ("moving_variance", self.moving_variance)]
        if self.kind == "activation" and self.alpha is not None:
            return [("alpha", self.alpha)]
        return []

    def forward(self, x, mode):
        t = self.kind
        if t == "dense":
            z = x @ self.kernel
            if self.bias is not None:
                z = z + self.bias
            return (z, z) if self.act_name == "linear" else (z, self.activate(z))
        if t == "conv2d":
            xp = F.pad(x, self.pad) if any(self.pad) else x
            y = F.conv2d(xp.permute(0, 3, 1, 2), self.kernel.permute(3, 2, 0, 1), None, self.stride)
            z = y.permute(0, 2, 3, 1)
            if self.bias is not None:
                z = z + self.bias
            return (z, z) if self.act_name == "linear" else (z, self.activate(z))
        if t == "maxpool2d":
            xc = x.permute(0, 3, 1, 2)
            if any(self.pad):
                xc = F.pad(xc, self.pad, value=-math.inf)
            return None, F.max_pool2d(xc, self.size, self.stride).permute(0, 2, 3, 1)
        if t == "avgpool2d":
            xc = x.permute(0, 3, 1, 2)
            if any(self.pad):
                # TensorFlow's "same" average counts only the window's cells inside the input.
                ones = F.pad(torch.ones_like(xc[:1, :1]), self.pad)
                s = F.avg_pool2d(F.pad(xc, self.pad), self.size, self.stride)
                n = F.avg_pool2d(ones, self.size, self.stride)
                return None, (s / n).permute(0, 2, 3, 1)
            return None, F.avg_pool2d(xc, self.size, self.stride).permute(0, 2, 3, 1)
        if t == "global_avgpool2d":
            return None, x.mean(dim=(1, 2))
        if t == "flatten":
            return None, x.reshape(x.shape[0], -1)
        if t == "dropout":
            if mode == "train" and self.rate > 0:
                return None, F.dropout(x, self.rate, True)
            return None, x
        if t == "batchnorm":
            c = self.out_shape[-1]
            flat = x.reshape(-1, c)
            if mode == "eval":
                mean, var = self.moving_mean, self.moving_variance
            else:
                mean = flat.mean(dim=0)
                var = ((flat - mean) ** 2).mean(dim=0)
                if mode == "train":
                    with torch.no_grad():
                        m = self.momentum
                        self.moving_mean.mul_(m).add_(mean.detach() * (1 - m))
                        self.moving_variance.mul_(m).add_(var.detach() * (1 - m))
            y = (flat - mean) * torch.rsqrt(var + self.epsilon) * self.gamma + self.beta
            return None, y.reshape(x.shape)
        if t == "activation":
            return x, self.activate(x)
        raise ValueError(t)


class Net(nn.Module):
    def __init__(self, input_shape, layer_specs):
        super().__init__()
        shape = list(input_shape)
        layers = []
        for spec in layer_specs:
            layer = Layer(spec, shape)
            if any(d <= 0 for d in layer.out_shape):
                raise ValueError("layer %s: output shape %s is empty (input %s)" % (spec["name"], layer.out_shape, shape))
            layers.append(layer)
            shape = layer.out_shape
        self.layers = nn.ModuleList(layers)
        self.trace = None

    def forward(self, x, mode="train"):
        trace = [] if self.trace is not None else None
        for layer in self.layers:
            z, x = layer(x, mode)
            if trace is not None:
                trace.append((z, x))
        if trace is not None:
            self.trace = trace
        return x


# ---- losses (src/core/losses.ts) ------------------------------------------------------------------------------

def loss_of(kind, fused, z, a, y):
    """Mean loss of the batch, Keras semantics; z = logits of the output layer, a = its output.

    In float64 as the core: a float32 square of a large error overflows where the core's sum does not."""
    z, a, y = z.double(), a.double(), y.double()
    if kind == "cross_entropy":
        if fused:
            lse = torch.logsumexp(z, dim=-1, keepdim=True)
            return ((lse - z) * y).sum(dim=-1).mean()
        p = torch.clamp(a, EPS, 1 - EPS)
        return -(y * torch.log(p)).sum(dim=-1).mean()
    if kind == "binary_cross_entropy":
        if fused:
            return (torch.clamp(z, min=0) - z * y + torch.log1p(torch.exp(-torch.abs(z)))).mean()
        p = torch.clamp(a, EPS, 1 - EPS)
        return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
    return ((a - y) ** 2).mean()


def count_correct(a, y):
    if a.shape[-1] == 1:
        return int(((a > 0.5) == (y > 0.5)).sum().item())
    return int((a.argmax(dim=-1) == y.argmax(dim=-1)).sum().item())


# ---- probe statistics (src/core/probes.ts) ---------------------------------------------------------------------

def choose_edges(v, symmetric):
    fin = v[torch.isfinite(v)]
    if fin.numel():
        lo, hi = float(fin.min()), float(fin.max())
    else:
        lo, hi = -1.0, 1.0
    if symmetric:
        r = max(abs(lo), abs(hi)) * 1.2 or 1.0
        lo, hi = -r, r
    else:
        pad = (hi - lo) * 0.1 or max(abs(hi) * 0.1, 1.0)
        lo, hi = lo - pad, hi + pad
    return [lo + (hi - lo) * i / HIST_BINS for i in range(HIST_BINS + 1)]


def summarize(v, edges=None, sat_above=None):
    """Moments of the finite values (float64 sums), non-finite count, |x| > sat_above count, histogram counts."""
    d = v.detach().reshape(-1)
    n = d.numel()
    finite = torch.isfinite(d)
    c = int(finite.sum())
    f = d if c == n else d[finite]
    s = float(torch.sum(f, dtype=torch.float64)) if c else 0.0
    sq = float(torch.sum(f * f, dtype=torch.float64)) if c else 0.0
    mean = s / c if c else 0.0
    std = math.sqrt(max(0.0, sq / c - mean * mean)) if c else 0.0
    out = {"mean": mean, "std": std, "sumsq": sq, "nonFinite": n - c, "n": n}
    if sat_above is not None:
        out["saturated"] = int((d.abs() > sat_above).sum())
    if edges is not None:
        lo = edges[0]
        inv = HIST_BINS / (edges[-1] - lo)
        x = d if c == n else d[~torch.isnan(d)]
        b = torch.floor((x.double() - lo) * inv).clamp(0, HIST_BINS - 1).long()
        out["counts"] = [float(k) for k in torch.bincount(b, minlength=HIST_BINS).tolist()]
    return out


class LayerProbe:
    def __init__(self, layer, info):
        self.layer = layer
        self.info = info  # {"dead": [lo, hi] | None, "satAbove": t | None, "satAtLeast": t | None}
        self.z_edges = None
        self.a_edges = None

    def stats(self, z, a, g, weight_grad_rms, update_ratio):
        if self.a_edges is None:
            self.a_edges = choose_edges(a.detach(), False)
        sa = summarize(a, self.a_edges)
        sg = summarize(g)
        non_finite = sa["nonFinite"] + sg["nonFinite"]
        preact_mean = preact_std = preact_hist = dead = saturated = None
        if z is not None and self.layer.act_name is not None:
            if self.z_edges is None:
                self.z_edges = choose_edges(z.detach(), True)
            info = self.info
            sz = summarize(z, self.z_edges, info.get("satAbove"))
            preact_mean, preact_std = sz["mean"], sz["std"]
            preact_hist = {"edges": self.z_edges, "counts": sz["counts"]}
            zd = z.detach()
            n = zd.numel()
            if info.get("dead") is not None:
                lo, hi = info["dead"]
                alive = ((zd > lo) & (zd < hi)).reshape(-1, self.layer.units).any(dim=0)
                dead = float((~alive).sum()) / self.layer.units
            if info.get("satAbove") is not None:
                saturated = sz["saturated"] / n if n else 0.0
            elif info.get("satAtLeast") is not None:
                saturated = float((zd >= info["satAtLeast"]).sum()) / n if n else 0.0
            if z is not a:
                non_finite += sz["nonFinite"]
        n = sg["n"]
        return {
            "deadFraction": dead, "saturatedFraction": saturated,
            "activationMean": sa["mean"], "activationStd": sa["std"],
            "preactMean": preact_mean, "preactStd": preact_std, "preactHist": preact_hist,
            "activationHist": {"edges": self.a_edges, "counts": sa["counts"]},
            "gradRms": math.sqrt(sg["sumsq"] / max(1, n)),
            "weightGradRms": weight_grad_rms, "updateRatio": update_ratio, "nonFinite": non_finite,
        }


# ---- the run ----------------------------------------------------------------------------------------------------

def read_floats(path, offset, count):
    if count == 0:
        return torch.zeros(0)
    with open(path, "rb") as f:
        f.seek(offset * 4)
        buf = bytearray(f.read(count * 4))
    if len(buf) != count * 4:
        raise ValueError("the data file %s is shorter than the job says" % path)
    return torch.frombuffer(buf, dtype=torch.float32)


def all_finite(t):
    return bool(torch.isfinite(t).all())


class Runner:
    def __init__(self, job, rank, world, device):
        self.job = job
        self.rank = rank
        self.world = world
        self.device = device
        cfg = job["config"]
        self.cfg = cfg
        plan = job["plan"]
        self.total = plan["totalSteps"]
        self.config_steps = cfg["train"]["steps"]
        self.every = plan["every"]
        self.batch = plan["batch"]
        self.probe_rows = plan["probeRows"]
        self.eval_equals_probe = plan["evalEqualsProbe"]
        self.eval_rows = plan["evalRows"]
        self.task = job["data"]["task"]
        seed = cfg["seed"]
        torch.manual_seed((seed + 7919 * rank) & 0x7FFFFFFF)
        self.net = Net(cfg["model"]["input"], cfg["model"]["layers"])
        self.load_weights()
        self.net.to(device)
        self.layers = list(self.net.layers)
        self.out_width = self.layers[-1].units
        self.load_data()
        loss = cfg["train"]["loss"]
        out_act = self.layers[-1].act_name
        self.loss_kind = loss
        self.fused = (loss == "cross_entropy" and out_act == "softmax") or (loss == "binary_cross_entropy" and out_act == "sigmoid")
        self.probes = [LayerProbe(l, info) for l, info in zip(self.layers, job["probeInfo"])]
        self.trainable = []  # (param, decays, is_kernel)
        for l in self.layers:
            for name, p in l.params_in_core_order():
                if isinstance(p, nn.Parameter):
                    self.trainable.append((p, name == "kernel", name == "kernel"))
        self.slots = [dict() for _ in self.trainable]
        self.t = 0
        self.perm = list(range(self.train_n))
        self.shuffle_rng = Rng.derive(seed, "shuffle")
        self.shuffle_rng.shuffle(self.perm)
        self.perm_pos = 0
        self.step = 0
        self.stopped = None
        self.non_finite = None
        self.timeline = []
        self.loss_curve = []
        self.loss_since = 0.0
        self.steps_since = 0
        self.last_grad_norm = 0.0
        self.last_update_sq = {}
        self.t0 = time.time()
        self.model = self.net
        if world > 1:
            ids = [device.index] if device.type == "cuda" else None
            self.model = nn.parallel.DistributedDataParallel(self.net, device_ids=ids, broadcast_buffers=False)

    def load_weights(self):
        w = self.job["weights"]
        path = self.job["dataFile"]
        entries = iter(w)
        for layer in self.net.layers:
            for name, p in layer.params_in_core_order():
                e = next(entries)
                if e["name"] != name or e["count"] != p.numel():
                    raise ValueError("layer %s: initial weight %s does not match (%s, %d values)" % (layer.spec["name"], name, e["name"], e["count"]))
                with torch.no_grad():
                    p.copy_(read_floats(path, e["offset"], e["count"]).reshape(p.shape))

    def load_data(self):
        d = self.job["data"]
        path = self.job["dataFile"]
        shape = list(self.cfg["model"]["input"])
        self.train_n, self.val_n = d["trainN"], d["valN"]
        self.y_width = d["yWidth"]

        def split(key, n):
            x = read_floats(path, d[key + "X"], n * d["inSize"]).reshape([n] + shape).to(self.device)
            y = read_floats(path, d[key + "Y"], n * self.y_width).reshape(n, self.y_width).to(self.device)
            return x, self.dense_targets(y)

        self.train_x, self.train_y = split("train", self.train_n)
        self.val_x, self.val_y = split("val", self.val_n)
        if self.val_n > 0:
            self.probe_x, self.probe_y = self.val_x, self.val_y
        else:
            self.probe_x, self.probe_y = self.train_x, self.train_y
        self.probe_x = self.probe_x[: self.probe_rows]
        self.probe_y = self.probe_y[: self.probe_rows]

    def dense_targets(self, y):
        o = self.out_width if hasattr(self, "out_width") else self.layers[-1].units
        if self.y_width == 1 and o > 1:
            idx = y[:, 0].long()
            t = torch.zeros(y.shape[0], o, device=y.device)
            ok = (idx >= 0) & (idx < o)
            t[ok.nonzero().reshape(-1), idx[ok]] = 1.0
            return t
        if self.y_width == o:
            return y
        raise ValueError("the output layer has %d units but the data has %d targets per sample" % (o, self.y_width))

    # -- training --

    def next_batch(self):
        if self.perm_pos + self.batch > len(self.perm):
            self.shuffle_rng.shuffle(self.perm)
            self.perm_pos = 0
        start = self.perm_pos
        self.perm_pos += self.batch
        return self.perm[start:start + self.batch]

    def shard(self, rows):
        """This rank's part of the global batch: contiguous, sizes differ by at most one."""
        n = len(rows)
        base, extra = divmod(n, self.world)
        start = self.rank * base + min(self.rank, extra)
        return rows[start:start + base + (1 if self.rank < extra else 0)]

    def forward_loss(self, model, x, y, mode):
        a = model(x, mode)
        last = self.net.trace[-1] if self.net.trace is not None else None
        z = last[0] if last is not None and last[0] is not None else None
        return a, z

    def batch_loss(self, x, y, mode, model):
        """Mean loss; needs the output layer's logits, so the last layer's z is taken from a trace."""
        self.net.trace = []
        a = model(x, mode)
        z, a_last = self.net.trace[-1]
        if z is None:
            z = a_last
        return loss_of(self.loss_kind, self.fused, z, a, y), a

    def train_step(self):
        rows = self.next_batch()
        mine = torch.tensor(self.shard(rows), dtype=torch.long, device=self.device)
        x, y = self.train_x.index_select(0, mine), self.train_y.index_select(0, mine)
        for p, _, _ in self.trainable:
            p.grad = None
        if mine.numel():
            loss, _ = self.batch_loss(x, y, "train", self.model)
            self.net.trace = None
            # DDP averages the ranks' gradients; weighting by the shard's share makes that the global batch mean.
            scale = mine.numel() * self.world / len(rows)
            (loss * scale).backward()
            local = float(loss.detach()) * mine.numel()
        else:
            local = 0.0
        if self.world > 1:
            t = torch.tensor([local], dtype=torch.float64, device=self.device)
            torch.distributed.all_reduce(t)
            local = float(t[0])
        loss_value = local / len(rows)
        if not math.isfinite(loss_value):
            return self.stop_non_finite(self.locate(x, y, "forward"))
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p, _, _ in self.trainable]
        gsq = float(sum(float((g.double() ** 2).sum()) for g in grads))
        if not math.isfinite(gsq):
            return self.stop_non_finite(self.locate(x, y, "backward"))
        norm = math.sqrt(gsq)
        self.last_grad_norm = norm
        clip = self.cfg["train"].get("clip")
        scale = clip / norm if clip is not None and clip > 0 and norm > clip else 1.0
        probe_next = (self.step + 1) % self.every == 0 or self.step + 1 == self.total
        self.optimizer_step(grads, scale, probe_next)
        self.step += 1
        self.loss_curve.append(loss_value)
        self.loss_since += loss_value
        self.steps_since += 1

    @torch.no_grad()
    def optimizer_step(self, grads, gs, measure):
        tr = self.cfg["train"]
        opt, lr, wd = tr["optimizer"], tr["lr"], tr["weightDecay"]
        self.t += 1
        t = self.t
        b1, b2, eps, rho, mu = tr["beta1"], tr["beta2"], tr["epsilon"], tr["rho"], tr["momentum"]
        adam_lr = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        for (p, decays, is_kernel), g, slot in zip(self.trainable, grads, self.slots):
            dl = lr * wd if wd > 0 and decays else 0.0
            if opt == "sgd":
                u = g * (-lr * gs) - dl * p
            elif opt == "momentum":
                m = slot.setdefault("m", torch.zeros_like(p))
                m.mul_(mu).add_(g, alpha=-lr * gs)
                u = m - dl * p
            elif opt == "adam":
                gd = g.double() * gs
                m = slot.setdefault("m", torch.zeros_like(p))
                v = slot.setdefault("v", torch.zeros_like(p))
                m.copy_(b1 * m.double() + (1 - b1) * gd)
                v.copy_(b2 * v.double() + (1 - b2) * gd * gd)
                u = -adam_lr * m.double() / (torch.sqrt(v.double()) + eps) - dl * p.double()
            else:  # rmsprop
                gd = g.double() * gs
                v = slot.setdefault("v", torch.zeros_like(p))
                v.copy_(rho * v.double() + (1 - rho) * gd * gd)
                u = -lr * gd / torch.sqrt(v.double() + eps) - dl * p.double()   # Keras 3: epsilon inside the sqrt, as the core
            p.add_(u.to(p.dtype))
            if measure and is_kernel:
                self.last_update_sq[id(p)] = float((u.double() ** 2).sum())

    def locate(self, x, y, where):
        """Which layer first went non-finite: activations in forward order, then gradients in backward order."""
        step = self.step
        self.net.trace = []
        try:
            loss, _ = self.batch_loss(x, y, "probe", self.net)
            trace = self.net.trace
        finally:
            self.net.trace = None
        for i, (z, a) in enumerate(trace):
            if (z is not None and not all_finite(z)) or not all_finite(a):
                return {"step": step, "layer": i, "where": "forward"}
        if where == "forward":
            return {"step": step, "layer": len(self.layers) - 1, "where": "loss"}
        targets = [z if z is not None and l.act_name is not None else a for l, (z, a) in zip(self.layers, trace)]
        gs = torch.autograd.grad(loss, targets, allow_unused=True, retain_graph=True)
        for i in range(len(self.layers) - 1, -1, -1):
            g = gs[i]
            if (g is not None and not all_finite(g)) or any(p.grad is not None and not all_finite(p.grad) for _, p in self.layers[i].params_in_core_order() if isinstance(p, nn.Parameter)):
                return {"step": step, "layer": i, "where": "backward"}
        return {"step": step, "layer": 0, "where": "backward"}

    def stop_non_finite(self, ev):
        self.non_finite = ev
        self.stopped = "non-finite"
        if self.rank == 0:
            self.probe()

    # -- probes --

    def probe(self):
        self.net.trace = []
        try:
            loss, a_out = self.batch_loss(self.probe_x, self.probe_y, "probe", self.net)
            trace = self.net.trace
        finally:
            self.net.trace = None
        P = self.probe_x.shape[0]
        correct = count_correct(a_out.detach(), self.probe_y)
        first = self.step == 0
        targets = [z if z is not None and l.act_name is not None else a for l, (z, a) in zip(self.layers, trace)]
        params = [p for p, _, _ in self.trainable] if first else []
        grads = torch.autograd.grad(loss, targets + params, allow_unused=True)
        act_grads = grads[: len(targets)]
        if first:
            for p, g in zip(params, grads[len(targets):]):
                p.grad = g if g is not None else torch.zeros_like(p)
            self.last_grad_norm = math.sqrt(sum(float((p.grad.double() ** 2).sum()) for p in params))
        layers = []
        for i, (l, (z, a)) in enumerate(zip(self.layers, trace)):
            wgr = ratio = None
            if l.kernel is not None:
                g = l.kernel.grad
                if g is not None:
                    wgr = math.sqrt(float((g.double() ** 2).sum()) / max(1, g.numel()))
                usq = self.last_update_sq.get(id(l.kernel))
                if usq is not None:
                    ratio = math.sqrt(usq) / (math.sqrt(float((l.kernel.detach().double() ** 2).sum())) or 1.0)
            g = act_grads[i] if act_grads[i] is not None else torch.zeros_like(targets[i])
            layers.append(self.probes[i].stats(z if l.act_name is not None else None, a, g, wgr, ratio))
        probe_loss = float(loss.detach())
        classify = self.task != "regression"
        if self.eval_equals_probe:
            val_loss, val_acc = probe_loss, (correct / P if classify else None)
        else:
            val_loss, acc = self.evaluate()
            val_acc = acc if classify else None
        point = {
            "step": self.step,
            "trainLoss": self.loss_since / self.steps_since if self.steps_since else probe_loss,
            "valLoss": val_loss, "gradNorm": self.last_grad_norm, "layers": layers,
        }
        if val_acc is not None:
            point["valAccuracy"] = val_acc
        self.loss_since, self.steps_since = 0.0, 0
        self.last_update_sq.clear()
        self.timeline.append(point)
        return point

    @torch.no_grad()
    def evaluate(self):
        if self.val_n > 0:
            x, y, n = self.val_x, self.val_y, self.val_n
        else:
            x, y, n = self.train_x, self.train_y, self.train_n
        total, correct = 0.0, 0
        for s in range(0, n, self.eval_rows):
            xs, ys = x[s:s + self.eval_rows], y[s:s + self.eval_rows]
            loss, a = self.batch_loss(xs, ys, "eval", self.net)
            self.net.trace = None
            total += float(loss) * xs.shape[0]
            correct += count_correct(a, ys)
        return total / n, correct / n

    def result(self):
        last = self.timeline[-1] if self.timeline else None
        final = {"trainLoss": last["trainLoss"], "valLoss": last["valLoss"]} if last else {"trainLoss": math.nan, "valLoss": math.nan}
        if last is not None and "valAccuracy" in last:
            final["valAccuracy"] = last["valAccuracy"]
        r = {
            "steps": self.step, "stopped": self.stopped or "cancelled", "timeline": self.timeline,
            "lossCurve": self.loss_curve, "final": final, "params": self.job["params"],
            "nonTrainableParams": self.job["nonTrainableParams"], "wallMs": (time.time() - self.t0) * 1000,
        }
        if self.non_finite:
            r["nonFinite"] = self.non_finite
        return r


def stop_requested_everywhere(runner, cancel):
    """Every rank must leave the loop at the same step, or the others wait forever in a collective."""
    flag = 1.0 if cancel.is_set() else 0.0
    if runner.world > 1:
        t = torch.tensor([flag], device=runner.device)
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        flag = float(t[0])
    return flag > 0


def run(job, rank, world, device, cancel):
    runner = Runner(job, rank, world, device)
    lead = rank == 0
    if lead:
        emit({"type": "started", "totalSteps": runner.total, "params": job["params"]})
    sent_losses, sent_points, last_sent = 0, 0, time.time()

    def flush():
        nonlocal sent_losses, sent_points, last_sent
        emit({"type": "stats", "step": runner.step, "probes": runner.timeline[sent_points:], "lossCurve": runner.loss_curve[sent_losses:]})
        sent_losses, sent_points, last_sent = len(runner.loss_curve), len(runner.timeline), time.time()

    try:
        while runner.stopped is None:
            if stop_requested_everywhere(runner, cancel):
                runner.stopped = "cancelled"
                break
            if lead and (runner.step % runner.every == 0 or runner.step == runner.total):
                runner.probe()
            if runner.step >= runner.total:
                runner.stopped = "limit" if runner.total < runner.config_steps else "completed"
                break
            runner.train_step()
            if lead and time.time() - last_sent >= STATS_INTERVAL_S:
                flush()
    except Exception as e:  # the run ends like the core's: an error that keeps what was measured
        if lead:
            flush()
            emit({"type": "error", "message": describe(e), "partial": runner.result()})
        return 1
    if lead:
        flush()
        r = runner.result()
        emit({"type": "cancelled", "partial": r} if r["stopped"] == "cancelled" else {"type": "done", "result": r})
    return 0


def bench(job, device):
    """Training throughput without probes: the median samples/s of `rounds` slices after a warm-up slice."""
    b = job["bench"]
    runner = Runner(job, 0, 1, device)
    budget = b.get("sliceMs", 250) / 1000.0
    rates = []
    for r in range(b.get("rounds", 7) + 1):
        steps, t0 = 0, time.perf_counter()
        while True:
            runner.train_step()
            steps += 1
            if time.perf_counter() - t0 >= budget:
                break
        if r > 0:
            rates.append(steps * runner.batch / (time.perf_counter() - t0))
    rates.sort()
    emit({"type": "bench", "samplesPerSec": rates[len(rates) // 2], "threads": torch.get_num_threads(), "torch": torch.__version__})
    return 0


def describe(e):
    msg = str(e) or e.__class__.__name__
    if isinstance(e, RuntimeError) and "out of memory" in msg:
        return "the torch engine ran out of memory: " + msg.splitlines()[0]
    return "the torch engine failed: " + msg.splitlines()[0]


# ---- processes and devices ------------------------------------------------------------------------------------

def pick_device(want, rank):
    cuda = torch.cuda.is_available()
    if want == "cuda" and not cuda:
        raise ValueError("train.device is cuda but torch %s sees no CUDA device" % torch.__version__)
    if want == "cuda" or (want == "auto" and cuda):
        return torch.device("cuda", rank % torch.cuda.device_count())
    return torch.device("cpu")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def watch_parent(parent):
    """A rank whose launcher died exits instead of waiting forever in a collective."""
    def loop():
        while True:
            time.sleep(0.2)
            if os.getppid() != parent:
                os._exit(3)
    threading.Thread(target=loop, daemon=True).start()


def watch_stdin(cancel):
    def loop():
        for line in sys.stdin:
            if line.strip() == "cancel":
                cancel.set()
        cancel.set()  # the host closed the pipe: it is gone or wants us gone
    threading.Thread(target=loop, daemon=True).start()


def remove_job_dir(job, job_file):
    """Removes the folder the host made for this job (src/engine/torch/job.ts), and no other: a job.json copied
    elsewhere (to rerun it by hand) still says removeDir, and its folder may hold the user's files."""
    folder = os.path.dirname(os.path.abspath(job_file))
    data = os.path.abspath(job.get("dataFile") or "")
    if os.path.basename(folder).startswith("activation-lens-torch-") and os.path.dirname(data) == folder:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv):
    if len(argv) < 2:
        sys.stderr.write("usage: activation_lens_runner.py <job.json>\n")
        return 2
    with open(argv[1]) as f:
        job = json.load(f)
    env_rank = os.environ.get("ACTIVATION_LENS_RANK")
    world = int(job.get("processes") or 1)
    rank = int(env_rank) if env_rank is not None else 0
    cancel = threading.Event()
    children = []
    try:
        threads = job.get("threads")
        if threads:
            torch.set_num_threads(int(threads))
        device = pick_device(job.get("device") or "cpu", rank)
        if world > 1:
            if rank == 0:
                port = os.environ.get("MASTER_PORT") or str(free_port())
                os.environ.update(MASTER_ADDR=os.environ.get("MASTER_ADDR", "127.0.0.1"), MASTER_PORT=port, WORLD_SIZE=str(world), RANK="0")
                for r in range(1, world):
                    env = dict(os.environ, ACTIVATION_LENS_RANK=str(r), RANK=str(r), ACTIVATION_LENS_PARENT=str(os.getpid()))
                    children.append(subprocess.Popen([sys.executable, os.path.abspath(__file__), argv[1]], env=env,
                                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL))
            else:
                watch_parent(int(os.environ.get("ACTIVATION_LENS_PARENT", os.getppid())))
            backend = "nccl" if device.type == "cuda" else "gloo"
            torch.distributed.init_process_group(backend, init_method="env://", world_size=world, rank=rank)
        if job.get("bench"):
            return bench(job, device)
        if rank == 0:
            watch_stdin(cancel)
        code = run(job, rank, world, device, cancel)
    except Exception as e:
        if rank == 0:
            emit({"type": "error", "message": describe(e)})
        code = 1
    finally:
        for c in children:
            try:
                c.wait(timeout=10)
            except subprocess.TimeoutExpired:
                c.kill()
        if world > 1 and torch.distributed.is_initialized():
            try:
                torch.distributed.destroy_process_group()
            except Exception:
                pass
        if rank == 0 and job.get("removeDir"):
            remove_job_dir(job, argv[1])
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
