"""Starting a PyTorch network from one of lprd's exported ONNX models (a fine-tune).

The exports fold each BatchNorm into the convolution before it, so the ONNX file holds,
per convolution, a weight and a bias. init_from_onnx gives each Conv2d of the network,
in the order the network runs them (the order its modules are registered in, which both
trainers keep equal to forward order), the folded weights, and turns the BatchNorm that
follows it into the identity plus the folded bias (mean 0, variance 1 - eps, scale 1),
so that the network computes exactly what the ONNX file does. Its BatchNorms must then
stay frozen while it trains (train_mode with frozen set).
"""
import sys

import torch
import torch.nn as nn


def init_from_onnx(model, path):
    import onnx
    from onnx import numpy_helper
    m = onnx.load(path)
    init = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    convs = [n for n in m.graph.node if n.op_type == "Conv"]
    mods = list(model.modules())
    layers = [l for l in mods if isinstance(l, nn.Conv2d)]
    if len(convs) != len(layers):
        sys.exit(f"{path}: {len(convs)} convolutions, the network has {len(layers)}")
    with torch.no_grad():
        for node, conv in zip(convs, layers):
            w = torch.from_numpy(init[node.input[1]].copy())
            b = torch.from_numpy(init[node.input[2]].copy())
            if w.shape != conv.weight.shape:
                sys.exit(f"{path}: {node.input[1]} is {tuple(w.shape)}, want {tuple(conv.weight.shape)}")
            conv.weight.copy_(w)
            i = mods.index(conv)
            bn = mods[i + 1] if i + 1 < len(mods) else None
            if isinstance(bn, nn.BatchNorm2d):
                bn.weight.fill_(1)
                bn.bias.copy_(b)
                bn.running_mean.zero_()
                bn.running_var.fill_(1 - bn.eps)
            elif conv.bias is not None:
                conv.bias.copy_(b)
            else:
                sys.exit(f"{path}: {node.name} has a bias the network's convolution has no place for")


def train_mode(model, frozen):
    """Puts the network in training mode; with frozen, its BatchNorm layers use their
    running statistics while training (their scale and shift still learn): a fine-tune
    of a converged model on small batches."""
    model.train()
    if frozen:
        for l in model.modules():
            if isinstance(l, nn.BatchNorm2d):
                l.eval()
