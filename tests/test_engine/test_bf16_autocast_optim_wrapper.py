import torch
from mmengine.optim import OptimWrapper
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


def test_pimae_train_step_under_the_wrapper():
    """A PiMAE training step through MMEngine's ``train_step`` with the
    wrapper: bfloat16 network, float32 losses close to a float32 step, and
    float32 parameters updated."""
    from tests.test_models._helpers import build_model, make_batch
    inputs, samples = make_batch()
    data = dict(inputs=inputs, data_samples=samples)
    log_vars = {}
    for name, wrapper_type in (('fp32', OptimWrapper),
                               ('bf16', BF16AutocastOptimWrapper)):
        torch.manual_seed(0)
        model = build_model()
        pred_dtype = []

        def record(module, args, out):
            pred_dtype.append(out.dtype)

        model.neck.img_decoder_pred.register_forward_hook(record)
        before = model.neck.img_decoder_pred.weight.detach().clone()
        wrapper = wrapper_type(
            optimizer=torch.optim.AdamW(model.parameters(), lr=1e-3))
        torch.manual_seed(1)
        log_vars[name] = model.train_step(data, wrapper)
        after = model.neck.img_decoder_pred.weight
        assert after.dtype == torch.float32
        assert not torch.equal(after, before)
        assert pred_dtype == [
            torch.bfloat16 if name == 'bf16' else torch.float32
        ]
    for key, value in log_vars['bf16'].items():
        assert value.dtype == torch.float32, key
        # bfloat16 has 8 mantissa bits; the losses average many terms
        torch.testing.assert_close(
            value, log_vars['fp32'][key], rtol=2e-2, atol=1e-6, msg=key)
