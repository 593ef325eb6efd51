"""A deep sigmoid MLP with Glorot & Bengio's U[-1/sqrt(n), 1/sqrt(n)] init, logged with ActivationLens.

    python train_deep_sigmoid.py runs/deep-sigmoid          # single process
    torchrun --nproc_per_node=2 train_deep_sigmoid.py runs/ddp  # DistributedDataParallel (rank 0 logs)

Without torchrun (Debian's torch 1.13 torchrun fails under Python 3.11), start each rank yourself:
    MASTER_ADDR=127.0.0.1 MASTER_PORT=29500 WORLD_SIZE=2 RANK=0 python train_deep_sigmoid.py runs/ddp &
    MASTER_ADDR=127.0.0.1 MASTER_PORT=29500 WORLD_SIZE=2 RANK=1 python train_deep_sigmoid.py runs/ddp
    activation-lens diagnose-run runs/deep-sigmoid             # vanishing-gradient error on the lowest layers
"""
import math
import os
import sys

import torch
import torch.nn as nn

from activation_lens_hooks import ActivationLens


def main(log_dir):
    ddp = "RANK" in os.environ
    if ddp:
        torch.distributed.init_process_group("gloo")
    torch.manual_seed(7)
    layers = []
    width, inputs = 200, 16
    for i in range(5):
        lin = nn.Linear(inputs if i == 0 else width, width)
        bound = 1 / math.sqrt(lin.in_features)
        nn.init.uniform_(lin.weight, -bound, bound)
        nn.init.zeros_(lin.bias)
        layers += [lin, nn.Sigmoid()]
    layers.append(nn.Linear(width, 5))  # logits; softmax is fused into CrossEntropyLoss
    model = nn.Sequential(*layers)
    lens = ActivationLens(model, log_dir, every=20)  # before wrapping or after: both work
    if ddp:
        model = nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    centers = torch.randn(5, inputs) * 2
    for step in range(801):
        y = torch.randint(0, 5, (10,))
        x = centers[y] + torch.randn(10, inputs)
        lens.set_step(step)
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        lens.log_scalars(step, loss=loss.item())
        opt.step()
    lens.close()
    if ddp:
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/deep-sigmoid")
