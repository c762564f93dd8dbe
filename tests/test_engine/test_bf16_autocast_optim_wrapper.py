import torch
from torch import nn

from projects.pimae.pimae.engine.optimizers import BF16AutocastOptimWrapper


def test_forward_runs_in_bf16_and_master_weights_stay_fp32():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
    wrapper = BF16AutocastOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    before = [p.detach().clone() for p in model.parameters()]
    x, y = torch.randn(32, 8), torch.randn(32, 1)
    with wrapper.optim_context(model):
        out = model(x)
        assert out.dtype == torch.bfloat16
        loss = nn.functional.mse_loss(out.float(), y)
    wrapper.update_params(loss)
    for param, old in zip(model.parameters(), before):
        assert param.dtype == torch.float32
        assert param.grad is None  # zeroed after the step
        assert not torch.equal(param, old)  # and the step happened
    # outside the context, float32 again
    assert model(x).dtype == torch.float32
