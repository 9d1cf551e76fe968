#!/usr/bin/python3
"""PyTorch cross-check for bench/grad.ts (benchmark only; torch is never a product dependency).

    /usr/bin/python3 bench/torch_grad.py DIR

DIR (written by bench/grad.ts) holds
    model.onnx            the forward model as our builder made it (initializers inline)
    feeds.safetensors     the graph inputs (F32)
    meta.json             { "output": name, "attention": [names], "weights": [initializer names],
                            "runs": N, "threads": T }

The ONNX graph is run by a small interpreter that maps each node to torch / torch.nn.functional
ops (so the network and the weights are exactly ours). For each case
    forward              torch.no_grad() forward
    wrt-input            d sum(output) / d sample
    wrt-weights          d sum(output) / d every name in meta.weights
    attn-wrt-input       d sum(all attention outputs) / d sample
it times min/median over `runs` runs after a warm-up, twice: the eager interpreter and a
torch.jit.trace of it (removes the Python per-node overhead), and writes the float32 gradients
to DIR/torch-<case>.safetensors and float64 ones (same graph, weights and inputs cast to double,
written rounded to float32) to DIR/torch64-<case>.safetensors. Timings go to DIR/torch.json.
"""
import json
import math
import os
import statistics
import struct
import sys
import time

import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn.functional as F


# ---------------------------------------------------------------- safetensors (F32 only)
def read_safetensors(path):
    with open(path, 'rb') as f:
        buf = f.read()
    n = struct.unpack('<Q', buf[:8])[0]
    header = json.loads(buf[8:8 + n].decode('utf8'))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        if info['dtype'] != 'F32':
            raise ValueError(f'{path}: {name} has dtype {info["dtype"]}, expected F32')
        b, e = info['data_offsets']
        out[name] = np.frombuffer(buf[base + b:base + e], dtype='<f4').reshape(info['shape']).copy()
    return out


def write_safetensors(path, tensors):
    header = {}
    off = 0
    blobs = []
    for name, arr in tensors.items():
        a = np.ascontiguousarray(arr, dtype='<f4')
        header[name] = {'dtype': 'F32', 'shape': list(a.shape), 'data_offsets': [off, off + a.nbytes]}
        off += a.nbytes
        blobs.append(a.tobytes())
    h = json.dumps(header).encode('utf8')
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# ---------------------------------------------------------------- ONNX -> torch interpreter
def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def s(v):
    return v.decode() if isinstance(v, bytes) else v


def ints(t):
    """An integer tensor (shape arithmetic) as a Python list."""
    return [int(x) for x in t.reshape(-1).tolist()]


def resize_indices(in_size, out_size, scale, mode, nearest):
    idx = []
    for x in range(out_size):
        if mode == 'asymmetric':
            o = x / scale
        elif mode == 'half_pixel':
            o = (x + 0.5) / scale - 0.5
        elif mode == 'pytorch_half_pixel':
            o = (x + 0.5) / scale - 0.5 if out_size > 1 else 0.0
        elif mode == 'align_corners':
            o = 0.0 if out_size == 1 else x * (in_size - 1) / (out_size - 1)
        else:
            raise NotImplementedError(f'Resize coordinate_transformation_mode {mode}')
        if nearest == 'floor':
            i = math.floor(o)
        elif nearest == 'ceil':
            i = math.ceil(o)
        elif nearest == 'round_prefer_ceil':
            i = math.floor(o + 0.5)
        else:  # round_prefer_floor (default)
            i = math.ceil(o - 0.5)
        idx.append(min(max(i, 0), in_size - 1))
    return idx


def as_float(t, dtype):
    return t.to(dtype) if t.is_floating_point() else t


def run_node(op, node, x, a, dtype=torch.float32):
    """x: list of input tensors (None for empty names). Returns a list of outputs."""
    if op == 'Identity':
        return [x[0]]
    if op == 'Constant':
        return [as_float(torch.from_numpy(numpy_helper.to_array(a['value']).copy()), dtype)]
    if op == 'Add':
        return [x[0] + x[1]]
    if op == 'Sub':
        return [x[0] - x[1]]
    if op == 'Mul':
        return [x[0] * x[1]]
    if op == 'Div':
        return [x[0] / x[1]]
    if op == 'Pow':
        return [torch.pow(x[0], x[1])]
    if op == 'Sqrt':
        return [torch.sqrt(x[0])]
    if op == 'Sigmoid':
        return [torch.sigmoid(x[0])]
    if op == 'Erf':
        return [torch.erf(x[0])]
    if op == 'Sin':
        return [torch.sin(x[0])]
    if op == 'Cos':
        return [torch.cos(x[0])]
    if op == 'Exp':
        return [torch.exp(x[0])]
    if op == 'Tanh':
        return [torch.tanh(x[0])]
    if op == 'Relu':
        return [F.relu(x[0])]
    if op == 'MatMul':
        return [torch.matmul(x[0], x[1])]
    if op == 'Gemm':
        A = x[0].t() if a.get('transA', 0) else x[0]
        B = x[1].t() if a.get('transB', 0) else x[1]
        y = a.get('alpha', 1.0) * (A @ B)
        if len(x) > 2 and x[2] is not None:
            y = y + a.get('beta', 1.0) * x[2]
        return [y]
    if op == 'Softmax':
        return [torch.softmax(x[0], dim=a.get('axis', -1))]
    if op == 'Transpose':
        perm = a.get('perm', list(reversed(range(x[0].dim()))))
        return [x[0].permute(*perm)]
    if op == 'Reshape':
        shape = ints(x[1])
        if not a.get('allowzero', 0):
            shape = [x[0].shape[i] if d == 0 else d for i, d in enumerate(shape)]
        return [x[0].reshape(shape)]
    if op == 'Shape':
        return [torch.tensor(list(x[0].shape), dtype=torch.int64)]
    if op == 'Unsqueeze':
        y = x[0]
        axes = ints(x[1]) if len(x) > 1 else a['axes']
        rank = y.dim() + len(axes)
        for ax in sorted(ax % rank for ax in axes):
            y = y.unsqueeze(ax)
        return [y]
    if op == 'Squeeze':
        y = x[0]
        axes = ints(x[1]) if len(x) > 1 and x[1] is not None else [i for i, d in enumerate(y.shape) if d == 1]
        for ax in sorted((ax % y.dim() for ax in axes), reverse=True):
            y = y.squeeze(ax)
        return [y]
    if op == 'Concat':
        return [torch.cat(x, dim=a['axis'])]
    if op == 'Split':
        axis = a.get('axis', 0)
        if len(x) > 1 and x[1] is not None:
            sizes = ints(x[1])
        else:
            k = len(node.output)
            sizes = [x[0].shape[axis] // k] * k
        return list(torch.split(x[0], sizes, dim=axis))
    if op == 'ReduceMean':
        axes = a.get('axes') if 'axes' in a else (ints(x[1]) if len(x) > 1 else list(range(x[0].dim())))
        return [x[0].mean(dim=axes, keepdim=bool(a.get('keepdims', 1)))]
    if op == 'ReduceSum':
        axes = ints(x[1]) if len(x) > 1 and x[1] is not None else list(range(x[0].dim()))
        return [x[0].sum(dim=axes, keepdim=bool(a.get('keepdims', 1)))]
    if op == 'Conv':
        w = x[1]
        nd = w.dim() - 2
        if s(a.get('auto_pad', 'NOTSET')) not in ('NOTSET', ''):
            raise NotImplementedError('Conv auto_pad')
        pads = a.get('pads', [0] * (2 * nd))
        strides = a.get('strides', [1] * nd)
        dil = a.get('dilations', [1] * nd)
        g = a.get('group', 1)
        b = x[2] if len(x) > 2 else None
        xi = x[0]
        if pads[:nd] != pads[nd:]:
            pad = []
            for i in reversed(range(nd)):
                pad += [pads[i], pads[i + nd]]
            xi, pads = F.pad(xi, pad), [0] * (2 * nd)
        conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[nd]
        return [conv(xi, w, b, stride=strides, padding=pads[:nd], dilation=dil, groups=g)]
    if op == 'InstanceNormalization':
        return [F.instance_norm(x[0], weight=x[1], bias=x[2], eps=a.get('epsilon', 1e-5))]
    if op == 'LayerNormalization':
        axis = a.get('axis', -1) % x[0].dim()
        if len(node.output) > 1 and any(node.output[1:]):
            raise NotImplementedError('LayerNormalization Mean/InvStdDev outputs')
        b = x[2] if len(x) > 2 else None
        return [F.layer_norm(x[0], tuple(x[0].shape[axis:]), x[1], b, eps=a.get('epsilon', 1e-5))]
    if op == 'Resize':
        mode = s(a.get('mode', 'nearest'))
        if mode != 'nearest':
            raise NotImplementedError(f'Resize mode {mode}')
        X = x[0]
        if len(x) > 3 and x[3] is not None and x[3].numel() > 0:
            sizes = ints(x[3])
            scales = [o / i for o, i in zip(sizes, X.shape)]
        else:
            scales = [float(v) for v in x[2].reshape(-1).tolist()]
            sizes = [int(math.floor(i * sc)) for i, sc in zip(X.shape, scales)]
        ctm = s(a.get('coordinate_transformation_mode', 'half_pixel'))
        nm = s(a.get('nearest_mode', 'round_prefer_floor'))
        idx = [resize_indices(X.shape[d], sizes[d], scales[d], ctm, nm) for d in range(X.dim())]
        spatial = list(range(2, X.dim()))
        plain = all(idx[d] == list(range(X.shape[d])) for d in range(2))
        torch_nearest = all(idx[d] == [min(int(math.floor(o * X.shape[d] / sizes[d])), X.shape[d] - 1) for o in range(sizes[d])] for d in spatial)
        if plain and torch_nearest:
            return [F.interpolate(X, size=[sizes[d] for d in spatial], mode='nearest')]
        y = X
        for d in range(X.dim()):
            if idx[d] != list(range(X.shape[d])):
                y = torch.index_select(y, d, torch.tensor(idx[d], dtype=torch.int64))
        return [y]
    raise NotImplementedError(f'op {op} (node {node.name})')


class Interpreter:
    def __init__(self, model, outputs):
        g = model.graph
        self.consts = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in g.initializer}
        # prune to the nodes the requested outputs need
        producer = {}
        for i, n in enumerate(g.node):
            for o in n.output:
                producer[o] = i
        need, stack = set(), list(outputs)
        seen = set()
        while stack:
            v = stack.pop()
            if v in seen:
                continue
            seen.add(v)
            if v in producer:
                need.add(producer[v])
                stack.extend(i for i in g.node[producer[v]].input if i)
        self.nodes = [(n.op_type, n, attrs(n)) for i, n in enumerate(g.node) if i in need]
        for op, n, _ in self.nodes:
            if n.domain not in ('', 'ai.onnx'):
                raise NotImplementedError(f'domain {n.domain}')
        self.outputs = outputs
        self.cast = {}

    def run(self, env, dtype=torch.float32):
        """env: name -> tensor for graph inputs and any overridden initializers."""
        if dtype not in self.cast:
            self.cast[dtype] = {k: as_float(t, dtype) for k, t in self.consts.items()}
        v = dict(self.cast[dtype])
        v.update(env)
        for op, n, a in self.nodes:
            ys = run_node(op, n, [v[i] if i else None for i in n.input], a, dtype)
            for name, y in zip(n.output, ys):
                if name:
                    v[name] = y
        return [v[o] for o in self.outputs]


# ---------------------------------------------------------------- cases
def loaded_blas():
    """The libblas torch was loaded with (Debian's torch links libblas.so.3; see bench/grad.ts)."""
    torch.zeros(2, 2) @ torch.zeros(2, 2)
    try:
        with open('/proc/self/maps') as f:
            libs = sorted({line.split()[-1] for line in f if 'blas' in line and '/' in line})
        return ', '.join(libs) or 'unknown'
    except OSError:
        return 'unknown'


def timed(fn, runs):
    fn()  # warm-up
    fn()
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t) * 1000)
    return {'minMs': min(ts), 'medianMs': statistics.median(ts)}


def main():
    d = sys.argv[1]
    meta = json.load(open(os.path.join(d, 'meta.json')))
    threads = int(meta.get('threads', 1))
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    runs = int(meta.get('runs', 20))
    model = onnx.load(os.path.join(d, 'model.onnx'))
    feeds = {k: torch.from_numpy(v) for k, v in read_safetensors(os.path.join(d, 'feeds.safetensors')).items()}
    out_name, attention, weights = meta['output'], meta['attention'], meta['weights']
    input_name = meta.get('input', 'sample')
    # (of, wrt, keep): keep = outputs computed alongside but not in the loss, as bench/grad.ts
    # keeps noise_pred in its attention-loss model (so both run the whole forward)
    cases = {
        'forward': ([out_name], [], []),
        'wrt-input': ([out_name], [input_name], []),
        'wrt-weights': ([out_name], weights, []),
        'attn-wrt-input': (attention, [input_name], [out_name]),
    }
    result = {'torch': torch.__version__, 'threads': torch.get_num_threads(), 'runs': runs, 'blas': loaded_blas(), 'cases': {}}
    for case, (of, wrt, keep) in cases.items():
        interp = Interpreter(model, of + keep)
        names = list(feeds) + weights  # every tensor the traced function takes as an argument
        base = {**feeds, **{w: interp.consts[w] for w in weights}}

        def loss_of(outs, n_of=len(of)):
            return sum(o.sum() for o in outs[:n_of])

        def make_env(dtype):
            env = {}
            for k in names:
                t = base[k].to(dtype).detach()
                if k in wrt:
                    t.requires_grad_(True)
                env[k] = t
            return env

        def step(fwd, env):
            if not wrt:
                with torch.no_grad():
                    return fwd(env)
            outs = fwd(env)
            return torch.autograd.grad(loss_of(outs), [env[k] for k in wrt])

        env32 = make_env(torch.float32)
        eager = timed(lambda: step(interp.run, env32), runs)
        entry = {'eager': eager, 'nodes': len(interp.nodes)}
        # traced: no Python per-node dispatch (the graph is fixed for these shapes)
        try:
            traced = torch.jit.trace(lambda *args: tuple(interp.run(dict(zip(names, args)))), tuple(env32[k] for k in names), check_trace=False)

            def tfwd(env):
                return list(traced(*[env[k] for k in names]))
            entry['jit'] = timed(lambda: step(tfwd, env32), runs)
        except Exception as e:  # noqa: BLE001 - report and go on with eager numbers
            entry['jitError'] = f'{type(e).__name__}: {e}'[:300]
        best = min([entry['eager']] + ([entry['jit']] if 'jit' in entry else []), key=lambda r: r['minMs'])
        entry['best'] = {**best, 'mode': 'jit' if best is entry.get('jit') else 'eager'}
        if wrt:
            g32 = step(interp.run, env32)
            write_safetensors(os.path.join(d, f'torch-{case}.safetensors'), {k: g.detach().numpy() for k, g in zip(wrt, g32)})
            env64 = make_env(torch.float64)
            g64 = step(lambda env: interp.run(env, torch.float64), env64)
            write_safetensors(os.path.join(d, f'torch64-{case}.safetensors'), {k: g.detach().numpy() for k, g in zip(wrt, g64)})
        result['cases'][case] = entry
        print(f'{case}: eager min {eager["minMs"]:.2f} ms' + (f', jit min {entry["jit"]["minMs"]:.2f} ms' if 'jit' in entry else f', jit failed: {entry.get("jitError")}'), file=sys.stderr)
    with open(os.path.join(d, 'torch.json'), 'w') as f:
        json.dump(result, f, indent=2)


if __name__ == '__main__':
    main()
