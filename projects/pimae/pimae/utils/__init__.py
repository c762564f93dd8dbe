from .launch import (ConfigOptionError, check_cfg_options, set_local_rank,
                     setup_cpu_distributed)

__all__ = [
    'ConfigOptionError', 'check_cfg_options', 'set_local_rank',
    'setup_cpu_distributed'
]
