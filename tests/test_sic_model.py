"""SICEncoder and NormReLU."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gridnav_agents.sic.model import SICEncoder, norm_relu


def _encoder(n: int = 12, hidden: int = 8, seed: int = 0) -> SICEncoder:
    return SICEncoder(n, hidden, 3, generator=torch.Generator().manual_seed(seed)).double()


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=5, max_size=5),
        min_size=1,
        max_size=6,
    )
)
def test_norm_relu_unit_norm_non_negative(rows):
    h = torch.tensor(rows, dtype=torch.float64)
    g = norm_relu(h)
    assert torch.all(g >= 0)
    assert torch.allclose(g.norm(dim=-1), torch.ones(len(rows), dtype=torch.float64))


def test_norm_relu_dead_input_gives_uniform_state_and_no_nan_gradient():
    h = torch.tensor([[-1.0, -2.0, 0.0, -0.5], [3.0, -1.0, 4.0, 0.0]], requires_grad=True)
    g = norm_relu(h)
    assert torch.allclose(g[0], torch.full((4,), 0.5))  # 1/sqrt(4)
    assert torch.allclose(g[1], torch.tensor([0.6, 0.0, 0.8, 0.0]))
    (g * torch.arange(4.0)).sum().backward()
    assert torch.isfinite(h.grad).all()
    assert torch.all(h.grad[0] == 0)


def test_indexed_forward_equals_per_sample_forward_values_and_gradients():
    model = _encoder()
    gen = torch.Generator().manual_seed(1)
    n_steps, n_traj = 7, 5
    v = (torch.rand(n_steps, 2, generator=gen, dtype=torch.float64) - 0.5) * 0.3
    perms = torch.stack([torch.randperm(n_steps, generator=gen) for _ in range(n_traj)])
    weights = torch.randn(n_traj, n_steps, 12, generator=gen, dtype=torch.float64)

    def run(fn):
        model.zero_grad()
        states = fn()
        (states * weights).sum().backward()
        return states.detach(), [p.grad.clone() for p in model.parameters()]

    fast, fast_grads = run(lambda: model.forward_indexed(v, perms))
    slow, slow_grads = run(lambda: model(v[perms]))
    assert fast.shape == (n_traj, n_steps, 12)
    assert torch.allclose(fast, slow, atol=1e-12)
    for a, b in zip(fast_grads, slow_grads, strict=True):
        assert torch.allclose(a, b, atol=1e-10)


def test_indexed_forward_general_index_and_gradcheck():
    model = _encoder(n=6, hidden=4)
    gen = torch.Generator().manual_seed(2)
    v = (torch.rand(4, 2, generator=gen, dtype=torch.float64) - 0.5) * 0.3
    index = torch.randint(0, 4, (3, 5), generator=gen)  # repeats, unequal counts
    assert torch.allclose(model.forward_indexed(v, index), model(v[index]), atol=1e-12)
    g0 = model.initial_state(3).detach().clone().requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda vv, gg: model.forward_indexed(vv, index, gg), (v.clone().requires_grad_(), g0)
    )


def test_step_matches_forward_and_states_are_unit_norm():
    model = _encoder()
    v = (torch.rand(3, 6, 2, dtype=torch.float64) - 0.5) * 0.3
    states = model(v)
    g = model.initial_state(3)
    for t in range(6):
        g = model.step(g, v[:, t])
        assert torch.allclose(g, states[:, t])
    assert torch.allclose(states.norm(dim=-1), torch.ones(3, 6, dtype=torch.float64))
    assert torch.all(states >= 0)
    single = model.step(model.g0, v[0, 0])  # unbatched
    assert single.shape == (12,) and torch.allclose(single, states[0, 0])
    assert math.isclose(model.g0.norm().item(), 1.0)


def test_same_generator_same_weights_and_config_round_trip():
    a, b = _encoder(seed=3), _encoder(seed=3)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
    assert not torch.equal(a.g0_param, _encoder(seed=4).g0_param)
    rebuilt = SICEncoder(**a.config())
    assert rebuilt.config() == a.config()


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"n_units": 0}, "n_units"),
        ({"mlp_hidden": 2.5}, "mlp_hidden"),
        ({"mlp_layers": 0}, "mlp_layers"),
        ({"step_scale": -0.1}, "step_scale"),
        ({"dt": 0.0}, "dt"),
    ],
)
def test_bad_constructor_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SICEncoder(**kwargs)


def test_bad_shapes_rejected():
    model = _encoder()
    with pytest.raises(ValueError, match="velocities"):
        model(torch.zeros(3, 2))
    with pytest.raises(ValueError, match="index"):
        model.forward_indexed(torch.zeros(4, 2), torch.tensor([[0, 5]]))
    with pytest.raises(ValueError, match="g0"):
        model(torch.zeros(2, 3, 2, dtype=torch.float64), g0=torch.zeros(3, 12))


def test_dead_states_in_the_recurrence_match_and_have_finite_gradients():
    model = _encoder(n=6, hidden=4)
    with torch.no_grad():
        model.mlp[-1].bias[:] = -1.0  # W(v) ≈ all negative: every update kills the state
        model.mlp[-1].weight.mul_(1e-3)
    v = (torch.rand(4, 2, dtype=torch.float64) - 0.5) * 0.3
    perms = torch.stack([torch.randperm(4) for _ in range(3)])
    fast = model.forward_indexed(v, perms)
    assert torch.allclose(fast, torch.full_like(fast, 6**-0.5))
    assert torch.allclose(fast, model(v[perms]))
    fast.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize("n, h, layers", [(8, 8, 3), (12, 5, 1), (6, 4, 4)])
def test_parameter_shapes_and_count_match_the_encoder(n, h, layers):
    from gridnav_agents.sic.memory import encoder_parameter_count, encoder_parameter_shapes

    model = SICEncoder(n, h, layers)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert encoder_parameter_shapes(n, h, layers) == shapes
    assert encoder_parameter_count(n, h, layers) == sum(p.numel() for p in model.parameters())


def test_encoder_larger_than_the_machine_is_refused_before_allocating(monkeypatch):
    import gridnav_agents.sic.model as model_mod

    monkeypatch.setattr(model_mod, "device_memory_bytes", lambda device: 10_000)
    SICEncoder(8, 8)  # (3·8 + 72 + 9·64 + 8) · 4 bytes = 2,720 bytes: fits
    with pytest.raises(ValueError, match=r"n_units=24, mlp_hidden=8, mlp_layers=3: .* 20\.7 KiB"):
        SICEncoder(24, 8)  # (3·8 + 72 + 9·576 + 24) · 4 = 21,216 bytes > 10,000
