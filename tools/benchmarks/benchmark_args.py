# Copyright (c) OpenMMLab. All rights reserved.
"""Command-line options and device set-up shared by the benchmark scripts.

A library, not a tool: the benchmarks import it as a top-level module
(``tools/benchmarks`` is on ``sys.path`` when a benchmark runs as a script
and when ``run_all.py`` imports them). Only argparse is imported here, so
each benchmark's ``--help`` still answers without loading torch; the
functions that need torch import it when called.

* :func:`add_device_arg`, :func:`add_threads_arg`: one option each;
* :func:`step_parser`: the parser of the training-step benchmarks
  (``--device --batch-size [--num-points] --repeats --warmup --threads``);
* :func:`apply_device_args`: applies ``--threads`` and checks that
  ``--device cuda`` has a GPU;
* :func:`synchronize`: waits for the GPU before a clock is read.
"""
import argparse
import sys
from typing import Optional


def add_device_arg(parser: argparse.ArgumentParser,
                   help_text: Optional[str] = None) -> None:
    """Add ``--device {cpu,cuda}`` (default ``cpu``).

    Args:
        parser (argparse.ArgumentParser): The parser to extend.
        help_text (str, optional): What each device measures. Defaults to None
            (no help text).
    """
    parser.add_argument(
        '--device', choices=['cpu', 'cuda'], default='cpu', help=help_text)


def add_threads_arg(parser: argparse.ArgumentParser,
                    default: int = 0,
                    note: Optional[str] = None) -> None:
    """Add ``--threads``: torch CPU threads, 0 keeping the torch default.

    Args:
        parser (argparse.ArgumentParser): The parser to extend.
        default (int): The default thread count. Defaults to 0.
        note (str, optional): Why the default, shown in parentheses after
            "torch CPU threads", e.g. ``'1 = a data-loader worker'``.
            Defaults to None.
    """
    what = f'torch CPU threads ({note})' if note else 'torch CPU threads'
    parser.add_argument(
        '--threads',
        type=int,
        default=default,
        help=f'{what}; 0 keeps the torch default')


def step_parser(
        description: str,
        batch_size: int,
        num_points_help: Optional[str] = None) -> argparse.ArgumentParser:
    """The parser of a training-step benchmark.

    Options: ``--device``, ``--batch-size``, ``--num-points`` (20000, only
    when ``num_points_help`` is given), ``--repeats`` (3), ``--warmup`` (1)
    and ``--threads`` (0: the torch default). Callers add their own options
    to it.

    Args:
        description (str): The parser's description.
        batch_size (int): Default of ``--batch-size``.
        num_points_help (str, optional): Help of ``--num-points``; None
            leaves the option out. Defaults to None.

    Returns:
        argparse.ArgumentParser: The parser.
    """
    parser = argparse.ArgumentParser(description=description)
    add_device_arg(parser)
    parser.add_argument('--batch-size', type=int, default=batch_size)
    if num_points_help is not None:
        parser.add_argument(
            '--num-points', type=int, default=20000, help=num_points_help)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=1)
    add_threads_arg(parser)
    return parser


def apply_device_args(args: argparse.Namespace) -> None:
    """Set the torch CPU threads when ``args.threads`` > 0, and exit with an
    error when ``args.device`` is 'cuda' but CUDA is not available.

    Args:
        args (argparse.Namespace): Parsed arguments; ``threads`` and
            ``device`` are optional (absent: torch default, CPU).
    """
    import torch
    threads = getattr(args, 'threads', 0)
    if threads > 0:
        torch.set_num_threads(threads)
    if getattr(args, 'device', 'cpu') == 'cuda' and \
            not torch.cuda.is_available():
        sys.exit('error: --device cuda but CUDA is not available')


def synchronize(device: str) -> None:
    """Wait for the queued CUDA work when ``device`` is 'cuda'.

    Args:
        device (str): 'cpu' (nothing to wait for) or 'cuda'.
    """
    if device == 'cuda':
        import torch
        torch.cuda.synchronize()
