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
Requires torch and tensorboard (pip install torch tensorboard).
"""
import json

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.tensorboard import SummaryWriter

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
        writer: an existing SummaryWriter to share (default: a new one on log_dir)."""
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
        self.writer = writer or SummaryWriter(log_dir)
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
