from .launch import ensure_custom_hooks, setup_cpu_distributed
from .sample_naming import describe_sample

__all__ = ['describe_sample', 'ensure_custom_hooks', 'setup_cpu_distributed']
