"""The four SIC losses: hand-computed toys and the streamed losses against a dense reference."""

import math

import numpy as np
import pytest
import torch

from gridnav_agents.sic.losses import (
    capacity_loss,
    conformal_isometry_loss,
    invariance_loss,
    near_pairs,
    pairwise_losses,
    separation_loss,
    separation_profile,
)

SX = 0.05


def dense_reference(g, x, sigma_x, sigma_g):
    """Eqs. 4-5 as per-pair means over ordered pairs i != j, with dense M×M matrices."""
    xt = torch.as_tensor(x, dtype=torch.float64)
    dx2 = ((xt[:, None] - xt[None]) ** 2).sum(-1)
    d2 = ((g[:, None] - g[None]) ** 2).sum(-1)
    off = ~torch.eye(len(g), dtype=torch.bool)
    diff, same = (dx2 > sigma_x**2) & off, (dx2 < sigma_x**2) & off
    sep = torch.exp(-d2 / (2 * sigma_g**2))[diff].mean() if diff.any() else g.sum() * 0
    inv = d2[same].mean() if same.any() else g.sum() * 0
    return sep, inv


# --- hand-computed toy cases -------------------------------------------------------------------


def toy():
    g = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]], dtype=torch.float64)
    x = np.array([[0.0, 0.0], [0.01, 0.0], [1.0, 0.0]])  # 0 and 1 share a place
    return g, x


def test_separation_toy():
    g, x = toy()
    # different-place pairs (0,2): d² = 2, (1,2): d² = 0.6² + 0.2² = 0.4; σg = 1
    expected = (math.exp(-1.0) + math.exp(-0.2)) / 2
    assert separation_loss(g, x, SX, 1.0).item() == pytest.approx(expected, rel=1e-12)


def test_invariance_toy():
    g, x = toy()
    # the only same-place pair (0,1): d² = 0.4² + 0.8² = 0.8
    assert invariance_loss(g, x, SX).item() == pytest.approx(0.8, rel=1e-12)


def test_capacity_toy():
    g = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert capacity_loss(g).item() == pytest.approx(-0.5)  # -||(0.5, 0.5)||²


def test_conformal_isometry_toy():
    g_prev = torch.zeros(4, 2, dtype=torch.float64)
    g_next = torch.tensor([[0.1, 0.0], [0.0, 0.4], [5.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    v = torch.tensor([[0.01, 0.0], [0.0, 0.02], [0.2, 0.0], [0.0, 0.0]], dtype=torch.float64)
    # kept: steps 0 and 1 (0 < |v| < σx), ratios 10 and 20; population variance 25
    assert conformal_isometry_loss(g_prev, g_next, v, SX).item() == pytest.approx(25.0)
    # scale-free: variance / mean² = 25 / 15²; unchanged when every step's code change doubles
    free = conformal_isometry_loss(g_prev, g_next, v, SX, scale_free=True).item()
    assert free == pytest.approx(25.0 / 225.0)
    doubled = conformal_isometry_loss(g_prev, 2 * g_next, v, SX, scale_free=True).item()
    assert doubled == pytest.approx(free)
    assert conformal_isometry_loss(g_prev, g_prev, v, SX, scale_free=True).item() == 0.0


# --- empty pair sets ---------------------------------------------------------------------------


def _grad_of(fn, g):
    g = g.clone().requires_grad_(True)
    value = fn(g)
    value.backward()
    return value.item(), g.grad


def test_empty_pair_sets_give_zero_not_nan():
    g = torch.rand(4, 3, dtype=torch.float64)
    far = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0]])
    value, grad = _grad_of(lambda gg: invariance_loss(gg, far, SX), g)
    assert value == 0.0 and torch.all(grad == 0)
    value, grad = _grad_of(lambda gg: separation_loss(gg, np.zeros((4, 2)), SX, 0.4), g)
    assert value == 0.0 and torch.all(grad == 0)
    one = g[:1]
    assert pairwise_losses(one, far[:1], SX, 0.4)[0].item() == 0.0
    still = torch.zeros(3, 2, dtype=torch.float64)
    value, grad = _grad_of(lambda gg: conformal_isometry_loss(gg, gg + 1, still, SX), g[:3, :2])
    assert value == 0.0 and torch.all(grad == 0)
    assert capacity_loss(g[:0]).item() == 0.0


def test_exactly_sigma_x_apart_is_neither_same_nor_different():
    g = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    x = np.array([[0.0, 0.0], [0.0, 0.0]])
    x[1, 0] = SX  # squared distance == SX**2 exactly in float64
    assert (x[1, 0] - x[0, 0]) ** 2 == SX**2
    sep, inv = pairwise_losses(g, x, SX, 0.4)
    assert sep.item() == 0.0 and inv.item() == 0.0


# --- streamed == dense, values and gradients ---------------------------------------------------


def _random_batch(m, n, seed, unit=True, duplicates=True):
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.uniform(-0.04, 0.04, (m, 2)), axis=0)  # a walk: many near pairs
    if duplicates:
        x[m // 2] = x[0]  # exact duplicates, as at the end of permuted trajectories
        x[m // 3] = x[1]
    g = torch.as_tensor(np.abs(rng.standard_normal((m, n))))
    if unit:
        g = g / g.norm(dim=1, keepdim=True)
    return g, x


@pytest.mark.parametrize(
    "m, block, unit, sigma_g",
    [(60, 7, True, 0.4), (97, 16, True, 0.2), (50, 1024, False, 0.7), (33, 1, True, 0.4)],
)
def test_streamed_losses_equal_dense_values_and_gradients(m, block, unit, sigma_g):
    g, x = _random_batch(m, 9, seed=m, unit=unit)
    w_sep, w_inv = 1.3, 0.7
    g1 = g.clone().requires_grad_(True)
    sep, inv = pairwise_losses(g1, x, SX, sigma_g, block=block)
    (w_sep * sep + w_inv * inv).backward()
    g2 = g.clone().requires_grad_(True)
    ref_sep, ref_inv = dense_reference(g2, x, SX, sigma_g)
    (w_sep * ref_sep + w_inv * ref_inv).backward()
    assert 0 < ref_inv.item() and 0 < ref_sep.item()
    assert sep.item() == pytest.approx(ref_sep.item(), rel=1e-10)
    assert inv.item() == pytest.approx(ref_inv.item(), rel=1e-10)
    assert torch.allclose(g1.grad, g2.grad, rtol=1e-8, atol=1e-12)


def test_streamed_float32_close_to_dense_float64():
    g, x = _random_batch(400, 32, seed=5)
    g32 = g.float().requires_grad_(True)
    sep, inv = pairwise_losses(g32, x, SX, 0.4, block=128)
    (sep + inv).backward()
    g64 = g.clone().requires_grad_(True)
    ref_sep, ref_inv = dense_reference(g64, x, SX, 0.4)
    (ref_sep + ref_inv).backward()
    assert sep.item() == pytest.approx(ref_sep.item(), rel=1e-5)
    assert inv.item() == pytest.approx(ref_inv.item(), rel=1e-5)
    assert torch.allclose(g32.grad.double(), g64.grad, rtol=1e-3, atol=1e-6)


def test_single_losses_match_joint_and_no_grad_path():
    g, x = _random_batch(40, 5, seed=1)
    sep, inv = pairwise_losses(g, x, SX, 0.4)  # g does not require grad
    assert separation_loss(g, x, SX, 0.4).item() == pytest.approx(sep.item(), rel=1e-12)
    assert invariance_loss(g, x, SX).item() == pytest.approx(inv.item(), rel=1e-12)
    ref_sep, ref_inv = dense_reference(g, x, SX, 0.4)
    assert sep.item() == pytest.approx(ref_sep.item(), rel=1e-10)


def test_near_pairs_matches_brute_force():
    _, x = _random_batch(80, 2, seed=3)
    i, j, d2 = near_pairs(x, SX)
    brute = {(a, b) for a in range(80) for b in range(a + 1, 80)
             if ((x[a] - x[b]) ** 2).sum() <= SX**2}  # fmt: skip
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == brute
    assert np.all(d2 <= SX**2)


def test_shape_checks():
    with pytest.raises(ValueError, match="x must be"):
        separation_loss(torch.rand(3, 2), np.zeros((4, 2)), SX, 0.4)
    with pytest.raises(ValueError, match="sigma_g"):
        separation_loss(torch.rand(3, 2), np.zeros((3, 2)), SX, 0.0)


# --- separation_profile: where the separation loss comes from --------------------------------


def test_separation_profile_toy():
    g, x = toy()
    # pair (0,1) at 0.01 m, d² 0.8; pairs (0,2) at 1.0 m, d² 2, and (1,2) at 0.99 m, d² 0.4
    counts, kernel = separation_profile(g, x, 1.0, [0.0, SX, 0.5, 2.0])
    np.testing.assert_array_equal(counts, [1, 0, 2])
    assert kernel[0] == pytest.approx(math.exp(-0.4))
    assert np.isnan(kernel[1])
    assert kernel[2] == pytest.approx((math.exp(-1.0) + math.exp(-0.2)) / 2)


def test_separation_profile_above_sigma_x_is_the_separation_loss():
    gen = torch.Generator().manual_seed(0)
    g = torch.rand(300, 16, generator=gen, dtype=torch.float64)
    g = g / g.norm(dim=1, keepdim=True)
    x = np.random.default_rng(0).uniform(0, 0.6, size=(300, 2))
    counts, kernel = separation_profile(g, x, 0.4, [SX, 0.2, 0.4, np.inf], block=7)
    assert (counts * kernel).sum() / counts.sum() == pytest.approx(
        separation_loss(g, x, SX, 0.4).item(), rel=1e-10
    )


def test_separation_profile_finds_the_period_of_a_periodic_code():
    # 16 units with von Mises tuning to the phase 2π x / λ along a 3 m line, λ = 1 m: codes
    # repeat at 1 m and 2 m (kernel 1) and are far apart at λ/2.
    xs = np.arange(0, 3.0, 0.01)
    phase = 2 * np.pi * xs[:, None] - np.linspace(0, 2 * np.pi, 16, endpoint=False)[None]
    g = np.exp(2 * np.cos(phase))
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    x = np.stack([xs, np.zeros_like(xs)], 1)
    edges = [0.45, 0.55, 0.99, 1.01, 1.99, 2.01]
    _, kernel = separation_profile(g, x, 0.4, edges)
    assert kernel[2] > 0.99 and kernel[4] > 0.99  # aliasing at λ and 2λ
    assert kernel[0] < 0.1  # half a period apart


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"edges": [0.5]}, "edges"), ({"edges": [0.5, 0.2]}, "edges"), ({"sigma_g": 0.0}, "sigma_g")],
)
def test_separation_profile_rejects_bad_arguments(kwargs, name):
    g, x = toy()
    args = {"sigma_g": 0.4, "edges": [0.0, 1.0]} | kwargs
    with pytest.raises(ValueError, match=name):
        separation_profile(g, x, **args)


def test_nonnegativity_loss_hand_computed():
    from gridnav_agents.sic.losses import nonnegativity_loss

    h = torch.tensor([[3.0, -4.0], [1.0, 2.0], [-1.0, -1.0]])
    assert nonnegativity_loss(h).item() == pytest.approx((16 / 25 + 0 + 1) / 3)
    assert nonnegativity_loss(h[:0]).item() == 0


@pytest.mark.parametrize("kwargs", [{}, {"n_blocks": 2}, {"transition": "rotation"}])
def test_preactivations_are_the_states_before_the_norm_relu(kwargs):
    from gridnav_agents.sic.model import SICEncoder, block_norm_relu

    model = SICEncoder(8, 8, 3, generator=torch.Generator().manual_seed(0), **kwargs).double()
    gen = torch.Generator().manual_seed(1)
    v = (torch.rand(5, 2, generator=gen, dtype=torch.float64) - 0.5) * 0.3
    perms = torch.stack([torch.randperm(5, generator=gen) for _ in range(4)])
    states = model.forward_indexed(v, perms)
    g_prev = torch.cat([model.initial_state(4)[:, None], states[:, :-1]], 1)
    h = model.preactivations(v, perms, g_prev)
    assert torch.allclose(block_norm_relu(h, model.n_blocks), states, atol=1e-12)
    direct = model.transition(v[perms]) @ g_prev.unsqueeze(-1)  # (4, 5, N, 1), per transition
    assert torch.allclose(h, direct.squeeze(-1), atol=1e-12)
    assert torch.allclose(model.preactivations(v[perms], None, g_prev), h, atol=1e-12)


def test_sparsity_loss_hand_computed():
    from gridnav_agents.sic.losses import sparsity_loss

    uniform = torch.full((3, 4), 0.5)  # unit norm, all 4 units equally active
    one_hot = torch.eye(4)[:3]
    two = torch.tensor([[0.6, 0.8, 0.0, 0.0]])
    assert sparsity_loss(uniform).item() == pytest.approx(1.0)
    assert sparsity_loss(one_hot).item() == pytest.approx(0.5)  # sqrt(1/4)
    assert sparsity_loss(two).item() == pytest.approx(1.4 / 2)
