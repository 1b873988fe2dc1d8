"""SICConfig: Table 1 defaults, validation, overrides, serialisation."""

import dataclasses

import pytest

from gridnav_agents.sic.config import PRESETS, SICConfig


def test_paper_preset_is_table_1():
    c = PRESETS["paper"]
    assert (c.batch_size, c.seq_len, c.n_units, c.mlp_layers) == (130, 60, 128, 3)
    assert (c.sigma_x, c.sigma_g) == (0.05, 0.4)
    assert (c.lambda_sep, c.lambda_inv, c.lambda_cap) == (1.0, 0.1, 0.5)
    assert (c.lr, c.grad_clip, c.accumulate, c.weight_decay) == (2e-5, 0.1, 2, 0.0)
    assert c.n_steps == 2_000_000 and c.max_step == 0.15 and c.velocity == "uniform"
    assert c.permute and c.pair_subsample is None
    assert c.step_scale == 0.15 and c.dt is None


@pytest.mark.parametrize(
    "field, value",
    [
        ("n_units", 0),
        ("batch_size", -3),
        ("seq_len", 2.5),
        ("sigma_x", 0.0),
        ("sigma_g", -0.4),
        ("lambda_inv", -0.1),
        ("lambda_coniso", float("nan")),
        ("lr", 0.0),
        ("grad_clip", float("inf")),
        ("accumulate", 0),
        ("plateau_factor", 1.0),
        ("velocity", "brownian"),
        ("device", "tpu"),
        ("pair_subsample", 1),
        ("permute", "yes"),
        ("seed", -1),
        ("coniso_max_step", 0.0),
        ("coniso_max_step", float("nan")),
        ("curriculum_step", -1),
        ("curriculum_seq_len", 0),
        ("curriculum_batch_size", 0),
        ("velocity_drift", -0.1),
        ("start_walk", -1),
        ("velocity_drift", float("inf")),
    ],
)
def test_bad_values_rejected_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        SICConfig(**{field: value})


def test_velocity_drift_needs_uniform_velocities():
    with pytest.raises(ValueError, match="velocity_drift"):
        SICConfig(velocity="smooth", velocity_drift=0.05)


def test_all_zero_weights_rejected():
    with pytest.raises(ValueError, match="lambda"):
        SICConfig(lambda_sep=0, lambda_inv=0, lambda_cap=0, lambda_coniso=0)


def test_any_single_weight_may_be_zero():
    for name in ("lambda_sep", "lambda_inv", "lambda_cap", "lambda_coniso"):
        assert getattr(SICConfig(**{name: 0}), name) == 0.0


def test_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        PRESETS["paper"].lr = 1.0


def test_overrides_parse_types():
    c = PRESETS["quick"].with_overrides(
        ["n_steps=2e3", "lr=3e-4", "permute=false", "pair_subsample=500", "velocity=smooth"]
    )
    assert c.n_steps == 2000 and isinstance(c.n_steps, int)
    assert c.lr == 3e-4 and c.permute is False and c.pair_subsample == 500
    assert c.velocity == "smooth" and c.dt == 0.05
    assert c.with_overrides(["pair_subsample=none"]).pair_subsample is None


@pytest.mark.parametrize(
    "item, match",
    [
        ("nosuchfield=1", "nosuchfield"),
        ("lr", "key=value"),
        ("n_steps=1.5", "n_steps"),
        ("permute=maybe", "permute"),
        ("sigma_g=-1", "sigma_g"),
    ],
)
def test_bad_overrides(item, match):
    with pytest.raises(ValueError, match=match):
        PRESETS["quick"].with_overrides([item])


def test_dict_round_trip_and_unknown_keys():
    c = PRESETS["quick"].with_overrides(["seed=7"])
    assert SICConfig.from_dict(c.to_dict()) == c
    assert c.diff(PRESETS["quick"]) == ["seed"]
    with pytest.raises(ValueError, match="bogus"):
        SICConfig.from_dict({**c.to_dict(), "bogus": 1})


def test_limits_accept_their_bounds_and_every_preset():
    for preset in PRESETS.values():  # the paper preset (N=128, B=130, T=60) among them
        SICConfig.from_dict(preset.to_dict())
    assert SICConfig(seed=2**64 - 1).seed == 2**64 - 1  # the largest seed torch accepts
    with pytest.raises(ValueError, match=r"seed must be in \[0, 2\*\*64 - 1\]"):
        SICConfig(seed=2**64)
    assert SICConfig(sigma_g=1e6).sigma_g == 1e6
    with pytest.raises(ValueError, match="sigma_g must be at most 1e"):
        SICConfig(sigma_g=1.01e6)
    with pytest.raises(ValueError, match="n_steps must be at most 2"):
        SICConfig(n_steps=2**63)
    SICConfig(velocity="smooth", smooth_dt=0.159)
    with pytest.raises(ValueError, match="smooth_dt must be below 0.16"):
        SICConfig(velocity="smooth", smooth_dt=0.16)


def test_smooth_dt_bound_is_where_the_motion_model_stops_accepting_dt():
    from gridnav_env import SmoothMotion

    SmoothMotion(dt=0.1599)
    with pytest.raises(ValueError, match="dt"):
        SmoothMotion(dt=0.16)
    with pytest.raises(ValueError, match="smooth_dt"):
        SICConfig(velocity="smooth", smooth_dt=0.16)


def test_training_memory_parameters_are_exact_and_the_limit_names_the_settings():
    from gridnav_agents.sic.memory import MAX_TRAINING_BYTES, training_memory
    from gridnav_agents.sic.model import SICEncoder

    for n, h, layers, blocks in [(8, 8, 3, 1), (12, 5, 1, 1), (6, 4, 4, 1), (12, 5, 3, 3)]:
        c = SICConfig(n_units=n, mlp_hidden=h, mlp_layers=layers, n_blocks=blocks)
        count = sum(p.numel() for p in SICEncoder(n, h, layers, n_blocks=blocks).parameters())
        (fields, size), *_ = training_memory(c).values()
        assert fields == ("n_units", "mlp_hidden", "mlp_layers", "n_blocks")
        assert size == 16 * count  # float32 weights, gradients and AdamW's two moments
    # N = 100000: the MLP's last layer alone has 128 · 1e10 weights, 5.12e12 bytes
    with pytest.raises(ValueError) as info:
        SICConfig(n_units=100_000)
    message = str(info.value)
    assert message.startswith("n_units=100000, mlp_hidden=128, mlp_layers=3")
    assert "more than the 1 TiB allowed" in message
    # 16 bytes × (3·128 + 128² + 128 + 129 · 1e10 + 1e5) parameters = 18.8 TiB
    assert "18.8 TiB" in message
    assert MAX_TRAINING_BYTES == 2**40


def test_block_gains_are_a_centred_geometric_gradient():
    c = SICConfig(n_units=12, n_blocks=3, block_gain_ratio=2.0)
    assert c.block_gains == pytest.approx((0.5, 1.0, 2.0))
    assert SICConfig(n_units=12, n_blocks=2, block_gain_ratio=4.0).block_gains == (0.5, 2.0)
    assert SICConfig().block_gains == (1.0,)
    with pytest.raises(ValueError, match="n_blocks"):
        SICConfig(n_units=12, n_blocks=5)
    with pytest.raises(ValueError, match="block_gain_ratio"):
        SICConfig(n_blocks=2, block_gain_ratio=0)


def test_identity_init_starts_every_block_at_the_identity():
    import torch

    from gridnav_agents.sic.train import build_encoder

    c = SICConfig(n_units=12, mlp_hidden=8, n_blocks=3, identity_init=0.0, block_gain_ratio=2.0)
    model = build_encoder(c)
    assert model.block_gains == pytest.approx((0.5, 1.0, 2.0))
    w = model.transition(torch.tensor([[0.1, -0.05], [0.0, 0.0]]))
    assert torch.equal(w, torch.eye(12).expand(2, 12, 12))


def test_rotation_transition_refuses_mlp_only_settings():
    assert SICConfig(transition="rotation").transition == "rotation"
    assert SICConfig(transition="rotation", n_units=12, n_blocks=3).n_blocks == 3
    for item, name in (("identity_init=0.1", "identity_init"), ("n_blocks=128", "n_blocks"),
                       ("block_gain_ratio=2", "block_gain_ratio"),
                       ("init_gain_spread=2", "init_gain_spread"), ("n_units=127", "n_units")):
        with pytest.raises(ValueError, match=name):
            PRESETS["paper"].with_overrides(["transition=rotation", item])
    with pytest.raises(ValueError, match="even"):
        SICConfig(transition="rotation", n_units=12, n_blocks=4)
    with pytest.raises(ValueError, match="transition"):
        SICConfig(transition="lie")
