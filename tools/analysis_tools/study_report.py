"""Tables and charts of the transfer study (``transfer_study.py``).

    python tools/analysis_tools/study_report.py WORK_DIR

rebuilds ``results.md`` and ``results.png`` of a study from the cells it has
finished so far (``WORK_DIR/cells/*.json``), e.g. while it still runs.
Only the standard library and (for the chart) matplotlib: no torch.

A *cell* is one (variant, seed) run: a dict with ``variant``, ``seed`` and
one number per metric (missing when the variant has no such branch, e.g.
the image probe of point-only pre-training).
"""
import argparse
import json
import math
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Tuple


def mean_std(values: Sequence[float]) -> Tuple[float, float]:
    """Mean and sample standard deviation (``ddof=1``; 0 for one value).

    Args:
        values (sequence[float]): At least one number.

    Returns:
        tuple[float, float]: ``(mean, std)``.
    """
    if not values:
        raise ValueError('mean_std: no values')
    mean = sum(values) / len(values)
    if len(values) == 1:
        return mean, 0.
    var = sum((v - mean)**2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(var)


def aggregate(cells: Sequence[dict], variants: Sequence[str],
              metrics: Sequence[str]) -> Dict[str, Dict[str, dict]]:
    """Mean, std and seeds of every metric of every variant.

    Args:
        cells (sequence[dict]): Finished cells.
        variants (sequence[str]): Row order.
        metrics (sequence[str]): Column order.

    Returns:
        dict: ``{variant: {metric: {'mean', 'std', 'n', 'values'}}}``;
        a metric no cell of the variant has is left out.
    """
    table: Dict[str, Dict[str, dict]] = {}
    for variant in variants:
        mine = [c for c in cells if c['variant'] == variant]
        row = {}
        for metric in metrics:
            values = [float(c[metric]) for c in mine if c.get(metric)
                      is not None]
            if values:
                mean, std = mean_std(values)
                row[metric] = dict(
                    mean=mean, std=std, n=len(values), values=values)
        table[variant] = row
    return table


def markdown_table(table: Dict[str, Dict[str, dict]],
                   metrics: Sequence[str],
                   titles: Optional[Dict[str, str]] = None) -> str:
    """The aggregated table as Markdown, ``mean ± std (n)`` per entry.

    Args:
        table (dict): Output of :func:`aggregate`.
        metrics (sequence[str]): Columns.
        titles (dict, optional): Column titles by metric.

    Returns:
        str: Markdown text (ends with a newline).
    """
    titles = titles or {}
    lines = [
        '| variant | ' + ' | '.join(titles.get(m, m) for m in metrics) +
        ' |', '| --- |' + ' --- |' * len(metrics)
    ]
    for variant, row in table.items():
        entries = []
        for metric in metrics:
            if metric in row:
                e = row[metric]
                entries.append(f'{e["mean"]:.2f} ± {e["std"]:.2f} '
                               f'({e["n"]})')
            else:
                entries.append('n/a')
        lines.append(f'| {variant} | ' + ' | '.join(entries) + ' |')
    return '\n'.join(lines) + '\n'


def bar_chart(table: Dict[str, Dict[str, dict]], metrics: Sequence[str],
              path: str, titles: Optional[Dict[str, str]] = None,
              suptitle: str = '') -> None:
    """A bar chart with one panel per metric and seed-std error bars.

    Args:
        table (dict): Output of :func:`aggregate`.
        metrics (sequence[str]): One panel each.
        path (str): PNG file to write.
        titles (dict, optional): Panel titles by metric.
        suptitle (str): Figure title.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    titles = titles or {}
    variants = list(table)
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(4.2 * len(metrics), 3.8), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        means = [table[v][metric]['mean'] if metric in table[v] else 0.
                 for v in variants]
        stds = [table[v][metric]['std'] if metric in table[v] else 0.
                for v in variants]
        colours = ['0.6' if v.startswith('random') else 'C0' for v in variants]
        ax.bar(range(len(variants)), means, yerr=stds, capsize=3,
               color=colours)
        for i, v in enumerate(variants):
            if metric not in table[v]:
                ax.text(i, 0, 'n/a', ha='center', va='bottom', fontsize=8)
        ax.set_xticks(range(len(variants)))
        ax.set_xticklabels(variants, rotation=40, ha='right', fontsize=8)
        ax.set_title(titles.get(metric, metric), fontsize=10)
        ax.grid(axis='y', alpha=0.3)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def read_cells(cell_dir: str) -> List[dict]:
    """Every finished cell in ``cell_dir`` (``*.json``), sorted by name."""
    if not osp.isdir(cell_dir):
        return []
    cells = []
    for name in sorted(os.listdir(cell_dir)):
        if name.endswith('.json') and name != 'study_size.json':
            with open(osp.join(cell_dir, name)) as f:
                cells.append(json.load(f))
    return cells


def read_json(path: str) -> dict:
    """A JSON file written by :func:`write_json_atomic`."""
    with open(path) as f:
        return json.load(f)


def write_json_atomic(path: str, data: dict) -> None:
    """Write ``data`` as JSON so that ``path`` is either absent or whole.

    A study stopped while writing leaves no truncated cell behind: the text
    goes to a temporary file that is renamed over ``path``.
    """
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = f'{path}.tmp'
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)


def main(argv: Optional[List[str]] = None) -> int:
    """Rebuild a study's table and chart from its finished cells."""
    parser = argparse.ArgumentParser(
        description='Rebuild results.md / results.png of a transfer study '
        'from its finished cells')
    parser.add_argument('work_dir', help='the study\'s --work-dir')
    args = parser.parse_args(argv)
    cells = read_cells(osp.join(args.work_dir, 'cells'))
    if not cells:
        print(f'error: no finished cells in {args.work_dir}/cells',
              file=sys.stderr)
        return 1
    from transfer_study import METRICS, TITLES
    variants = list(dict.fromkeys(c['variant'] for c in cells))
    metrics = [m for m in METRICS if any(m in c for c in cells)]
    table = aggregate(cells, variants, metrics)
    text = markdown_table(table, metrics, TITLES)
    with open(osp.join(args.work_dir, 'results.md'), 'w') as f:
        f.write(text)
    bar_chart(table, metrics, osp.join(args.work_dir, 'results.png'),
              TITLES)
    print(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
