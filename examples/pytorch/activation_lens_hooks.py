"""Log what Activation Lens reads from a PyTorch training run, as TensorBoard histograms.

For every nn.Linear / nn.Conv1d/2d/3d layer ("weighted layer") it logs, every `every` steps:
  <layer>/preact       z, the layer's output before its activation
  <layer>/activation   a = f(z), the activation applied to z
  <layer>/grad_preact  dLoss/dz, the gradient backpropagated to z (what shrinks in vanishing-gradient nets)
plus the text summary "activation_lens/layers" (JSON: name, activation, type of each layer, in order), so
`activation-lens diagnose-run <logdir>` and the editor's "Diagnose TensorBoard Run..." know each layer's
activation. Under DistributedDataParallel only rank 0 registers hooks and writes (its own batch shard).

    from activation_lens_hooks import ActivationLens
    lens = ActivationLens(model, "runs/exp1", every=100)      # model may be wrapped in DDP
    for step, (x, y) in enumerate(loader):
        lens.set_step(step)                                   # arms the hooks on logging steps
        loss = criterion(model(x), y)
        loss.backward()
        lens.log_scalars(step, loss=loss.item())              # "loss" (and any other scalars you pass)
        optimizer.step(); optimizer.zero_grad()
    lens.close()

The activation of a layer is the activation module that follows it in module order (nn.Sequential style:
Linear, ReLU, Linear, ...). Activations applied functionally in forward() (F.relu(self.fc1(x))) are not modules:
name them with `activations={"fc1": "relu"}`. The helper computes a = f(z) itself from that name, so what is
logged is exactly the activation Activation Lens judges. Histograms use TensorFlow's default buckets
(add_histogram's bins="tensorflow"): a relu's zeros land in their own bucket and the dead fraction is exact.
Requires only torch: the event files are written by EventWriter below (TFRecord framing, CRC-32C, and the
Event / Summary / HistogramProto protobuf encodings in plain Python), so neither tensorboard nor tensorflow is
needed; TensorBoard itself reads the files as usual.
"""
import json
import os
import socket
import struct
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# Tag templates; Activation Lens maps these names by default (src/tensorboard/tags.ts).
TAG_PREACT = "{layer}/preact"
TAG_ACTIVATION = "{layer}/activation"
TAG_GRAD_PREACT = "{layer}/grad_preact"
TAG_LAYERS = "activation_lens/layers"

WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)

# Activation modules -> (Activation Lens name, function of z, parameters to record).
ACTIVATION_MODULES = {
    nn.ReLU: "relu", nn.ReLU6: "relu6", nn.LeakyReLU: "leaky_relu", nn.PReLU: "prelu", nn.ELU: "elu",
    nn.SELU: "selu", nn.GELU: "gelu", nn.SiLU: "swish", nn.Mish: "mish", nn.Softplus: "softplus",
    nn.Softsign: "softsign", nn.Hardsigmoid: "hard_sigmoid", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh",
    nn.Softmax: "softmax", nn.Identity: "linear",
}

FUNCTIONS = {
    "linear": lambda z, p: z,
    "relu": lambda z, p: F.relu(z),
    "relu6": lambda z, p: F.relu6(z),
    "leaky_relu": lambda z, p: F.leaky_relu(z, p.get("alpha", 0.01)),
    "prelu": lambda z, p: torch.where(z > 0, z, p.get("alpha", 0.25) * z),
    "elu": lambda z, p: F.elu(z, p.get("alpha", 1.0)),
    "selu": lambda z, p: F.selu(z),
    "gelu": lambda z, p: F.gelu(z, approximate=p.get("approximate", "none")),
    "swish": lambda z, p: F.silu(z),
    "mish": lambda z, p: F.mish(z),
    "softplus": lambda z, p: F.softplus(z),
    "softsign": lambda z, p: F.softsign(z),
    "hard_sigmoid": lambda z, p: F.hardsigmoid(z),
    "sigmoid": lambda z, p: torch.sigmoid(z),
    "tanh": lambda z, p: torch.tanh(z),
    # channel dim for conv outputs, last dim for dense outputs
    "softmax": lambda z, p: F.softmax(z, dim=1 if z.dim() > 2 else -1),
}


# ---- TensorBoard event files without tensorboard --------------------------------------------------------

def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data):
    """CRC-32C (Castagnoli), the checksum TFRecord uses."""
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked_crc32c(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def tfrecord(data):
    """One TFRecord: length, masked CRC of the length, data, masked CRC of the data."""
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", masked_crc32c(length)) + data + struct.pack("<I", masked_crc32c(data))


def _varint(n):
    n &= 0xFFFFFFFFFFFFFFFF  # negative int64 as two's complement, 10 bytes
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(field, wire):
    return _varint((field << 3) | wire)


def _bytes(field, data):
    return _key(field, 2) + _varint(len(data)) + data


def _double(field, x):
    return _key(field, 1) + struct.pack("<d", x)


def _packed_doubles(field, xs):
    return _bytes(field, struct.pack("<%dd" % len(xs), *xs))


def _tf_bucket_edges():
    """TensorFlow's default histogram buckets: 0 and +-1e-12 * 1.1^k up to 1e20 (torch's bins="tensorflow")."""
    v, pos = 1e-12, []
    while v < 1e20:
        pos.append(v)
        v *= 1.1
    return [-x for x in reversed(pos)] + [0.0] + pos


_TF_EDGES = None


def histogram_proto(values):
    """HistogramProto of a tensor with TensorFlow's buckets, trimmed as torch's make_histogram trims them."""
    global _TF_EDGES
    if _TF_EDGES is None:
        _TF_EDGES = torch.tensor(_tf_bucket_edges(), dtype=torch.float64)
    edges = _TF_EDGES
    v = values.detach().reshape(-1).double().cpu()
    v = v[torch.isfinite(v)]
    if v.numel() == 0:
        return None
    # Bins [e_k, e_k+1) as numpy.histogram, the last one closed; values beyond +-1e20 are dropped.
    idx = torch.bucketize(v, edges, right=True) - 1
    idx[v == edges[-1]] = len(edges) - 2
    inside = (idx >= 0) & (idx < len(edges) - 1)
    counts = torch.bincount(idx[inside], minlength=len(edges) - 1).double()
    nz = torch.nonzero(counts).reshape(-1)
    body = b""
    body += _double(1, float(v.min())) + _double(2, float(v.max())) + _double(3, float(v.numel()))
    body += _double(4, float(v.sum())) + _double(5, float(v.dot(v)))
    if nz.numel():
        first, last = int(nz[0]), int(nz[-1])
        kept = counts[max(first - 1, 0): last + 1].tolist()
        if first == 0:
            kept = [0.0] + kept
        limits = edges[first: last + 2].tolist()
        body += _packed_doubles(6, limits) + _packed_doubles(7, kept)
    return body


class EventWriter:
    """Writes events.out.tfevents.* files that TensorBoard and Activation Lens read (scalars, histograms, text)."""

    def __init__(self, log_dir, filename_suffix=""):
        os.makedirs(log_dir, exist_ok=True)
        name = "events.out.tfevents.%010d.%s.%d%s" % (int(time.time()), socket.gethostname(), os.getpid(), filename_suffix)
        self.path = os.path.join(log_dir, name)
        self._f = open(self.path, "ab")
        self._write_event(b"", 0, file_version="brain.Event:2")
        self.flush()

    def _write_event(self, summary, step, file_version=None):
        body = _double(1, time.time()) + _key(2, 0) + _varint(int(step))
        if file_version is not None:
            body += _bytes(3, file_version.encode())
        if summary:
            body += _bytes(5, summary)
        self._f.write(tfrecord(body))

    def _value(self, tag, payload, step):
        self._write_event(_bytes(1, _bytes(1, tag.encode()) + payload), step)

    def add_scalar(self, tag, value, step):
        self._value(tag, _key(2, 5) + struct.pack("<f", float(value)), step)
        self.flush()

    def add_histogram(self, tag, values, step):
        h = histogram_proto(values)
        if h is not None:
            self._value(tag, _bytes(5, h), step)
            self.flush()

    def add_text(self, tag, text, step):
        metadata = _bytes(1, _bytes(1, b"text"))  # SummaryMetadata.plugin_data.plugin_name
        shape = _bytes(2, _key(1, 0) + _varint(1))  # TensorShapeProto.dim { size: 1 }
        tensor = _key(1, 0) + _varint(7) + _bytes(2, shape) + _bytes(8, text.encode())  # DT_STRING, string_val
        self._value(tag, _bytes(9, metadata) + _bytes(8, tensor), step)
        self.flush()

    def flush(self):
        self._f.flush()

    def close(self):
        if not self._f.closed:
            self._f.close()


def _rank0():
    return not (torch.distributed.is_available() and torch.distributed.is_initialized()) or torch.distributed.get_rank() == 0


def _activation_spec(module):
    for cls, name in ACTIVATION_MODULES.items():
        if type(module) is cls:
            params = {}
            if isinstance(module, nn.LeakyReLU):
                params["alpha"] = module.negative_slope
            elif isinstance(module, nn.ELU):
                params["alpha"] = module.alpha
            elif isinstance(module, nn.PReLU):
                params["alpha"] = float(module.weight.detach().mean())
            elif isinstance(module, nn.GELU):
                params["approximate"] = module.approximate
            return name, params
    return None


class ActivationLens:
    def __init__(self, model, log_dir, every=100, activations=None, writer=None):
        """model: the nn.Module (or its DDP wrapper). every: steps between logged steps.
        activations: {layer name: activation name} for activations not visible as modules.
        writer: an existing writer to share, e.g. torch's SummaryWriter (default: an EventWriter on log_dir)."""
        self.every = max(1, int(every))
        self.enabled = _rank0()
        self.armed = False
        self.step = 0
        self.handles = []
        self.layers = []
        if not self.enabled:
            self.writer = None
            return
        model = getattr(model, "module", model)  # DistributedDataParallel / DataParallel
        self.writer = writer or EventWriter(log_dir)
        modules = list(model.named_modules())
        for i, (name, module) in enumerate(modules):
            if not isinstance(module, WEIGHTED):
                continue
            act, params = "linear", {}
            if activations and name in activations:
                act = activations[name]
            else:
                following = next((m for _, m in modules[i + 1:] if not list(m.children())), None)
                spec = _activation_spec(following) if following is not None else None
                if spec:
                    act, params = spec
                    if getattr(following, "inplace", False):
                        following.inplace = False  # an in-place activation would overwrite z before we read it
            if act not in FUNCTIONS:
                raise ValueError(f"unknown activation {act!r} for layer {name!r}; one of {sorted(FUNCTIONS)}")
            self.layers.append({"name": name, "activation": act, "type": "dense" if isinstance(module, nn.Linear) else "conv2d", **params})
            self.handles.append(module.register_forward_hook(self._forward_hook(name, act, params)))
        self.writer.add_text(TAG_LAYERS, json.dumps(self.layers), 0)

    def set_step(self, step):
        """Call before the forward pass of each step: hooks record only on every `every`-th step."""
        self.step = int(step)
        self.armed = self.enabled and self.step % self.every == 0

    def _forward_hook(self, name, act, params):
        def hook(module, inputs, output):
            if not self.armed or not torch.is_tensor(output):
                return
            z = output.detach()
            step = self.step
            self.writer.add_histogram(TAG_PREACT.format(layer=name), z.float().cpu(), step)
            self.writer.add_histogram(TAG_ACTIVATION.format(layer=name), FUNCTIONS[act](z.float(), params).cpu(), step)
            if output.requires_grad:
                def grad_hook(grad):
                    self.writer.add_histogram(TAG_GRAD_PREACT.format(layer=name), grad.detach().float().cpu(), step)
                output.register_hook(grad_hook)
        return hook

    def log_scalars(self, step, **scalars):
        """Scalars by name, e.g. loss=..., val_loss=..., grad_norm=... (names Activation Lens maps by default)."""
        if not self.enabled:
            return
        for key, value in scalars.items():
            self.writer.add_scalar(key, float(value), int(step))

    def close(self):
        for h in self.handles:
            h.remove()
        self.handles = []
        if self.writer is not None:
            self.writer.flush()
            self.writer.close()
