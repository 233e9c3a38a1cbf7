"""Persistent DDP worker processes for the training benchmark: one thread each, gloo on localhost.

The main process starts them once; a timing case sends every worker a command and waits for all
of them, so DDP rounds interleave with the in-process variants (``bench_common.time_interleaved``).
"""

from __future__ import annotations

import copy
import queue
import socket
import time
import traceback
from collections.abc import Callable

import bench_common as bc
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import Tensor
from torch.nn.parallel import DistributedDataParallel

from draw_lightning.utils.runtime import keep_freed_memory

MODELS = ("optimised", "baseline")  # the order of bc.models(config, seed)
COMPILED = "optimised, compiled step"  # the optimised model with compile_step, if asked for
REPLY_TIMEOUT_S = 1800  # one command never takes this long; a silent worker means a hang


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DDPWorkers:
    """``processes`` spawned ranks, each with both models of ``bc.models(config, seed)`` wrapped in DDP.

    Rank ``r`` trains on rows ``[r*b, (r+1)*b)`` of every batch (``b`` = batch / processes), so the
    global batch equals the single-process one. Use as a context manager: workers stop on exit.
    """

    def __init__(
        self,
        *,
        processes: int,
        config: dict,
        seed: int,
        batches: torch.Tensor,
        reuse_freed_memory: bool,
        compile_step: bool = False,
    ) -> None:
        batch = batches.shape[1]
        if processes < 2 or batch % processes:
            raise SystemExit(f"--ddp {processes}: need >= 2 processes dividing the batch size {batch}")
        self.processes, self.per_rank = processes, batch // processes
        context = mp.get_context("spawn")
        self._results = context.Queue()
        self._commands = [context.Queue() for _ in range(processes)]
        port = free_port()
        self._workers = []
        for rank in range(processes):
            rows = batches[:, rank * self.per_rank : (rank + 1) * self.per_rank].clone()
            args = (rank, processes, port, config, seed, rows, self._commands[rank], self._results)
            args += (reuse_freed_memory, compile_step)
            # daemon: an interrupted main process takes its workers with it.
            worker = context.Process(target=_serve, args=args, daemon=True, name=f"ddp-rank{rank}")
            worker.start()
            self._workers.append(worker)
        self.matmul_flops = sum(self._collect("start"))  # one round of the per-rank matmul references

    def __enter__(self) -> DDPWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def train_case(self, model: str, steps: int) -> Callable[[], bc.WorkerCPUTime]:
        """Every rank runs ``steps`` DDP Adam steps of ``model``; returns the ranks' summed CPU time."""
        return lambda: bc.WorkerCPUTime(sum(self._ask(("train", model, steps))))

    def matmul_case(self) -> Callable[[], bc.WorkerCPUTime]:
        """Every rank runs the matmul reference on the per-rank LSTM shapes at the same time."""
        return lambda: bc.WorkerCPUTime(sum(self._ask(("matmul",))))

    def one_step(self, model: str, noise: torch.Tensor) -> list[tuple[dict[str, Tensor], dict[str, Tensor]]]:
        """One DDP step of ``model`` on the first batch, rank ``r`` drawing ``noise[:, its rows]``.

        Returns every rank's parameters after the step and the averaged gradients it took.
        """
        return self._ask(("check", model, noise))

    def close(self) -> None:
        for commands, worker in zip(self._commands, self._workers, strict=True):
            if worker.is_alive():
                commands.put(("stop",))
        for worker in self._workers:
            worker.join(timeout=30)
            if worker.is_alive():  # stuck, e.g. a peer died inside a collective
                worker.terminate()
                worker.join(timeout=10)

    def _ask(self, command: tuple) -> list:
        """Send ``command`` to every rank and return their replies in rank order."""
        for commands in self._commands:
            commands.put(command)
        return self._collect(command[0])

    def _collect(self, what: str) -> list:
        """Every rank's reply to ``what``, in rank order; exits if a rank failed, died or hangs."""
        replies: dict[int, object] = {}
        deadline = time.monotonic() + REPLY_TIMEOUT_S
        while len(replies) < self.processes:
            try:
                rank, ok, payload = self._results.get(timeout=1.0)
            except queue.Empty:
                dead = [w.name for w in self._workers if not w.is_alive()]
                if dead or time.monotonic() > deadline:
                    raise SystemExit(
                        f"DDP workers: {', '.join(dead) or 'no reply'} during {what!r} "
                        f"(exit codes {[w.exitcode for w in self._workers]})"
                    ) from None
                continue
            if not ok:
                time.sleep(1.0)  # a peer that crashed first shows up in the exit codes
                raise SystemExit(
                    f"DDP worker rank {rank} failed during {what!r} "
                    f"(exit codes {[w.exitcode for w in self._workers]}):\n{payload}"
                )
            replies[rank] = payload
        return [replies[rank] for rank in range(self.processes)]


def _serve(
    rank: int,
    world: int,
    port: int,
    config: dict,
    seed: int,
    rows: torch.Tensor,
    commands: mp.Queue,
    results: mp.Queue,
    reuse_freed_memory: bool,
    compile_step: bool,
) -> None:
    """A rank's loop: answer each command with ``(rank, ok, payload)`` until ``stop``."""
    try:
        torch.set_num_threads(1)
        torch.set_flush_denormal(True)
        if reuse_freed_memory:
            keep_freed_memory()
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
        models = dict(zip(MODELS, bc.models(config, seed), strict=True))
        if compile_step:
            models[COMPILED] = copy.deepcopy(models["optimised"])
            models[COMPILED].compile_step = True
        nets = {name: DistributedDataParallel(m) for name, m in models.items()}
        optimizers = {name: torch.optim.Adam(net.parameters(), lr=1e-3) for name, net in nets.items()}
        matmuls = bc.matmul_flops(bc.lstm_gemm_shapes(config, rows.shape[1]))
        position = 0
        results.put((rank, True, matmuls()))
        while (command := commands.get())[0] != "stop":
            cpu = time.process_time()
            if command[0] == "train":
                _, name, steps = command
                for _ in range(steps):
                    _step(nets[name], optimizers[name], rows[position % len(rows)])
                    position += 1
                results.put((rank, True, time.process_time() - cpu))
            elif command[0] == "matmul":
                matmuls()
                results.put((rank, True, time.process_time() - cpu))
            elif command[0] == "check":
                _, name, noise = command
                per_rank = rows.shape[1]
                with bc.FixedNoise(noise[:, rank * per_rank : (rank + 1) * per_rank]):
                    _step(nets[name], optimizers[name], rows[0])
                named = list(nets[name].module.named_parameters())
                params = {k: p.detach().clone() for k, p in named}
                grads = {k: p.grad.clone() for k, p in named}  # DDP's average, kept after the step
                results.put((rank, True, (params, grads)))
            else:
                raise ValueError(f"unknown command {command[0]!r}")
    except BaseException:
        results.put((rank, False, traceback.format_exc()))
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def _step(net: torch.nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor) -> None:
    loss = net(x).loss.mean()  # per-image mean: DDP's gradient average over equal shards is the full mean
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
