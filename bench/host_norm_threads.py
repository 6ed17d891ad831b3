# Which of PyTorch's CPU operations spread over threads: an offloaded optimizer's clipping norm and update run on the
# host. Times each on 4 tensors of 1M floats with torch.set_num_threads(1), then (2).
#   python3 bench/host_norm_threads.py
import time
import torch

torch.manual_seed(0)
g = [torch.randn(1_000_000) for _ in range(4)]
steps = [torch.tensor(1.0) for _ in range(2)]
ops = {
    'foreach_norm': lambda: torch._foreach_norm(g, 2),
    'norm of a 1-d tensor': lambda: [x.norm(2) for x in g],
    'row norms of a 2-d view': lambda: [x.view(250, -1).norm(2, dim=1).norm(2) for x in g],
    'fused AdamW': lambda: torch._fused_adamw_(g[:2], g[2:], g[2:], g[:2], [], steps, lr=1e-9, beta1=0.9, beta2=0.99,
                                               weight_decay=0.0, eps=1e-8, amsgrad=False, maximize=False),
}
for threads in (1, 2):
    torch.set_num_threads(threads)
    for name, op in ops.items():
        op()
        t = time.time()
        for _ in range(50):
            op()
        print(f'{threads} thread(s)  {name}: {(time.time() - t) / 50 * 1000:.3f} ms')
