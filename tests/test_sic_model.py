"""SICEncoder and NormReLU."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gridnav_agents.sic.model import SICEncoder, block_norm_relu, norm_relu


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


@pytest.mark.parametrize(
    "n, h, layers, k", [(8, 8, 3, 1), (12, 5, 1, 1), (6, 4, 4, 1), (12, 5, 3, 3)]
)
def test_parameter_shapes_and_count_match_the_encoder(n, h, layers, k):
    from gridnav_agents.sic.memory import encoder_parameter_count, encoder_parameter_shapes

    model = SICEncoder(n, h, layers, n_blocks=k)
    shapes = {name: tuple(v.shape) for name, v in model.state_dict().items()}
    assert encoder_parameter_shapes(n, h, layers, k) == shapes
    count = sum(p.numel() for p in model.parameters())
    assert encoder_parameter_count(n, h, layers, k) == count


def test_encoder_larger_than_the_machine_is_refused_before_allocating(monkeypatch):
    import gridnav_agents.sic.model as model_mod

    monkeypatch.setattr(model_mod, "device_memory_bytes", lambda device: 10_000)
    SICEncoder(8, 8)  # (3·8 + 72 + 9·64 + 8) · 4 bytes = 2,720 bytes: fits
    with pytest.raises(
        ValueError, match=r"n_units=24, mlp_hidden=8, mlp_layers=3, n_blocks=1: .* 20\.7 KiB"
    ):
        SICEncoder(24, 8)  # (3·8 + 72 + 9·576 + 24) · 4 = 21,216 bytes > 10,000


def _blocks(k: int = 3, gains=None, n: int = 12, seed: int = 0) -> SICEncoder:
    gen = torch.Generator().manual_seed(seed)
    return SICEncoder(n, 8, 3, n_blocks=k, block_gains=gains, generator=gen).double()


def test_block_norm_relu_normalises_each_block():
    h = torch.tensor([[3.0, -1.0, 4.0, 0.0, 1.0, 1.0], [-1.0, -1.0, -1.0, 2.0, 0.0, 0.0]])
    g = block_norm_relu(h, 3)
    blocks = g.view(2, 3, 2)
    assert torch.allclose(blocks.norm(dim=-1), torch.full((2, 3), 1 / math.sqrt(3)))
    assert torch.allclose(g.norm(dim=-1), torch.ones(2))
    assert torch.allclose(blocks[0, 0], torch.tensor([1.0, 0.0]) / math.sqrt(3))  # [3, -1]
    assert torch.allclose(blocks[1, 0], torch.full((2,), 0.5**0.5) / math.sqrt(3))  # dead block
    assert torch.equal(block_norm_relu(h, 1), norm_relu(h))


def test_blocks_do_not_mix():
    model = _blocks(k=3, gains=[0.5, 1.0, 2.0])
    w = model.transition(torch.tensor([[0.05, -0.1]], dtype=torch.float64))[0]
    mask = torch.block_diag(*[torch.ones(4, 4)] * 3).bool()
    assert torch.all(w[~mask] == 0) and torch.all(w[mask] != 0)
    gen = torch.Generator().manual_seed(3)
    v = (torch.rand(6, 2, generator=gen, dtype=torch.float64) - 0.5) * 0.3
    perms = torch.stack([torch.randperm(6, generator=gen) for _ in range(4)])
    g0 = model.initial_state(4).detach().clone().requires_grad_(True)
    states = model.forward_indexed(v, perms, g0)
    states[..., :4].sum().backward()  # block 0's states depend on block 0's start only
    assert torch.all(g0.grad[:, 4:] == 0) and torch.any(g0.grad[:, :4] != 0)
    other = g0.detach().clone()
    other[:, 4:] = torch.rand(4, 8, generator=gen, dtype=torch.float64)
    again = model.forward_indexed(v, perms, other)
    assert torch.allclose(again[..., :4], states[..., :4].detach())


def test_block_recurrence_matches_step_by_step_with_gradients():
    model = _blocks(k=2, gains=[0.7, 1.4])
    gen = torch.Generator().manual_seed(1)
    v = (torch.rand(7, 2, generator=gen, dtype=torch.float64) - 0.5) * 0.3
    perms = torch.stack([torch.randperm(7, generator=gen) for _ in range(5)])
    weights = torch.randn(5, 7, 12, generator=gen, dtype=torch.float64)

    def run(fn):
        model.zero_grad()
        states = fn()
        (states * weights).sum().backward()
        return states.detach(), [p.grad.clone() for p in model.parameters()]

    fast, fast_grads = run(lambda: model.forward_indexed(v, perms))
    slow, slow_grads = run(lambda: model(v[perms]))
    stepped = model.initial_state(5)
    for t in range(7):
        stepped = model.step(stepped, v[perms[:, t]])
    assert torch.allclose(fast, slow, atol=1e-12) and torch.allclose(fast[:, -1], stepped)
    for a, b in zip(fast_grads, slow_grads, strict=True):
        assert torch.allclose(a, b, atol=1e-10)
    half = torch.full((5, 7, 2), 0.5**0.5, dtype=torch.float64)
    assert torch.allclose(fast.view(5, 7, 2, 6).norm(dim=-1), half)


def test_block_gains_are_fixed_and_scale_the_velocity():
    model = _blocks(k=2, gains=[0.5, 2.0])
    assert model.config()["block_gains"] == [0.5, 2.0]
    assert all(p.numel() != 2 for p in model.parameters())  # no learnt gain vector
    plain = _blocks(k=2, gains=None)
    v = torch.tensor([[0.04, -0.02]], dtype=torch.float64)
    # block b of the gained encoder is block b of the same weights at velocity gains[b]·v
    assert torch.allclose(model.block_transition(v)[0, 0], plain.block_transition(0.5 * v)[0, 0])
    assert torch.allclose(model.block_transition(v)[0, 1], plain.block_transition(2.0 * v)[0, 1])
    opt = torch.optim.AdamW(model.parameters(), lr=0.1)
    model.forward_indexed(v.repeat(3, 1), torch.zeros(2, 3, dtype=torch.long)).sum().backward()
    opt.step()
    assert model.block_gains == (0.5, 2.0)


@pytest.mark.parametrize(
    "kwargs, name",
    [({"n_blocks": 5}, "n_blocks"), ({"n_blocks": 0}, "n_blocks"),
     ({"n_blocks": 2, "block_gains": [1.0]}, "block_gains"),
     ({"n_blocks": 2, "block_gains": [1.0, -1.0]}, "block_gains")],
)  # fmt: skip
def test_bad_block_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SICEncoder(12, 8, 3, **kwargs)


def test_rotation_transition_is_a_group_representation():
    model = SICEncoder(16, transition="rotation", generator=torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(4)
    a, b = (torch.rand(2, 1, 2, generator=gen) - 0.5) * 0.6
    wa, wb, wab = (model.transition(v)[0].double() for v in (a, b, a + b))
    eye = torch.eye(16, dtype=torch.float64)
    assert torch.allclose(wa @ wb, wab, atol=1e-5) and torch.allclose(wa @ wb, wb @ wa, atol=1e-5)
    assert torch.allclose(wa @ wa.T, eye, atol=1e-5)
    assert torch.allclose(model.transition(torch.zeros(1, 2))[0].double(), eye, atol=1e-6)


def test_rotation_encoder_integrates_paths_exactly_while_states_stay_positive():
    model = SICEncoder(16, transition="rotation", generator=torch.Generator().manual_seed(1))
    with torch.no_grad():  # plane 0 (k = 0) holds the uniform vector: a constant offset
        q0 = model.rotation.basis0[0].clone()
        q0[:, 0] = 1 / 4.0
        q, _ = torch.linalg.qr(q0)
        model.rotation.basis0[0] = q * torch.sign(q[0, 0] * 4.0)
        g0 = q[:, 0] * torch.sign(q[:, 0].sum()) + 0.02 * q[:, 2:].sum(1)  # small oscillation
        model.g0_param.copy_(g0)
    gen = torch.Generator().manual_seed(2)
    v = (torch.rand(30, 2, generator=gen) - 0.5) * 0.3
    perms = torch.stack([torch.randperm(30, generator=gen) for _ in range(6)])
    states = model.forward_indexed(v, perms).detach()
    assert torch.all(states > 0)  # NormReLU never clips, so the rotations compose exactly
    assert torch.allclose(states[:, -1], states[0, -1].expand(6, -1), atol=1e-5)
    direct = model.step(model.g0[None], v.sum(0, keepdim=True))[0]  # one step of the sum
    assert torch.allclose(states[0, -1], direct, atol=1e-5)


def test_rotation_encoder_round_trips_through_a_checkpoint(tmp_path):
    from gridnav_agents.sic.checkpoint import load_encoder, save_checkpoint

    model = SICEncoder(12, transition="rotation", generator=torch.Generator().manual_seed(3))
    path = save_checkpoint(tmp_path / "rot.safetensors", model)
    loaded = load_encoder(path)
    v = torch.tensor([[[0.05, -0.1], [0.2, 0.0]]])
    assert loaded.config()["transition"] == "rotation"
    assert torch.allclose(loaded(v), model(v))
    with pytest.raises(ValueError, match="even size"):
        SICEncoder(12, n_blocks=4, transition="rotation")
    with pytest.raises(ValueError, match="transition"):
        SICEncoder(12, transition="lie")


def test_rotation_blocks_do_not_mix_and_each_composes_exactly():
    model = SICEncoder(
        12, n_blocks=3, transition="rotation", generator=torch.Generator().manual_seed(5)
    )
    assert model.rotation.wavevectors[::2].abs().max() == 0  # each block's first plane: k = 0
    a, b = torch.tensor([[0.1, -0.2]]), torch.tensor([[-0.05, 0.07]])
    w = model.transition(a)[0]
    mask = torch.block_diag(*[torch.ones(4, 4)] * 3).bool()
    assert torch.all(w[~mask] == 0)
    assert torch.allclose(w @ model.transition(b)[0], model.transition(a + b)[0], atol=1e-5)
