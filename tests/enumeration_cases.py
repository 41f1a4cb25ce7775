"""Small discrete distributions whose expectations the tests enumerate exactly, shared
by the estimator tests (tests/test_discrete.py) and the enumeration experiments'
(tests/experiments/test_enumeration.py)."""

import torch

F64 = torch.float64
BERN_LOGITS = torch.tensor([-1.5, 0.2, 1.0], dtype=F64)  # K = 3
CAT_LOGITS = torch.tensor(
    [[0.5, -0.3, 0.1], [-1.0, 0.8, 0.2]], dtype=F64
)  # K = 2, C = 3
WEIGHTS = torch.tensor([0.0, 1.0, 3.0], dtype=F64)
