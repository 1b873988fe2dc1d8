"""A stable-baselines3 features extractor for encoder codes: a trainable head, optionally after a
frozen, stateless module.

Use it through ``policy_kwargs``::

    model = PPO("MlpPolicy", env,  # env wrapped in EncoderObservation: obs = (code, phase)
                policy_kwargs=dict(features_extractor_class=EncoderCodeExtractor,
                                   features_extractor_kwargs=dict(code_dim=128, features_dim=64)))

The recurrent encoder itself does not belong here: SB3 calls a features extractor on single
observations with no state, so the encoder's state lives in
:class:`gridnav_agents.rl.wrappers.EncoderObservation`, which hands the extractor its code.

## SB3 pitfalls handled

SB3 builds the extractor and then, in ``ActorCriticPolicy._build``,

1. **re-initialises it orthogonally**: ``features_extractor.apply(init_weights)`` overwrites the
   weights of every ``nn.Linear``/``nn.Conv2d`` reachable as a submodule (gain √2) — a pretrained
   module inside an extractor would silently lose its weights;
2. **builds the optimizer over all parameters** (``optimizer_class(self.parameters())``), so a
   module meant to stay frozen would be trained (or weight-decayed) unless hidden from it;
3. **switches the policy to ``train()`` mode** before each update (``set_training_mode(True)``),
   which would put dropout/batch-norm of a frozen module into training behaviour.

The ``frozen`` module is therefore kept *outside* the ``nn.Module`` registry (not a child): neither
``apply``, ``parameters()`` nor ``train()`` reaches it; it is set to eval mode with
``requires_grad=False``, run under ``torch.no_grad()``, and moved along with the extractor by
``.to(device)``. It is not part of the policy's ``state_dict``: it travels in ``policy_kwargs``
(pickled with the model by ``model.save``). Only the head is trainable; SB3 re-initialises it
orthogonally like any extractor (``policy_kwargs=dict(ortho_init=False)`` keeps PyTorch's init).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import gymnasium as gym
import torch
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

__all__ = ["EncoderCodeExtractor"]


class EncoderCodeExtractor(BaseFeaturesExtractor):
    """Trainable MLP head on an encoder code; extra observation entries (the phase) pass through.

    The observation is ``(code (code_dim,), extra (rest,))``. The code optionally goes through a
    frozen, stateless ``frozen`` module first; its output and the extras are concatenated and
    mapped by ``Linear -> activation`` layers of widths ``(*hidden, features_dim)``.

    Args:
        observation_space: a flat ``Box``.
        features_dim: output size.
        code_dim: number of leading entries that are the code (default: all).
        hidden: widths of hidden layers of the head.
        frozen: an optional pretrained ``nn.Module`` mapping ``(batch, code_dim)`` to
            ``(batch, K)``; kept frozen (see the module docstring).
        activation_fn: activation class after each Linear layer.
    """

    def __init__(
        self,
        observation_space: gym.spaces.Box,
        features_dim: int = 64,
        code_dim: int | None = None,
        hidden: Sequence[int] = (),
        frozen: nn.Module | None = None,
        activation_fn: Callable[[], nn.Module] = nn.ReLU,
    ):
        if not isinstance(observation_space, gym.spaces.Box) or len(observation_space.shape) != 1:
            raise ValueError(f"observation_space must be a flat Box, got {observation_space}")
        n_obs = int(observation_space.shape[0])
        code_dim = n_obs if code_dim is None else int(code_dim)
        if not 1 <= code_dim <= n_obs:
            raise ValueError(f"code_dim must be in [1, {n_obs}], got {code_dim!r}")
        if int(features_dim) < 1 or any(int(h) < 1 for h in hidden):
            raise ValueError(
                f"features_dim and hidden must be positive, got {features_dim}, {hidden}"
            )
        super().__init__(observation_space, int(features_dim))
        self.code_dim, self.n_extra = code_dim, n_obs - code_dim
        frozen_out = code_dim
        if frozen is not None:
            frozen.eval()
            frozen.requires_grad_(False)
            with torch.no_grad():
                frozen_out = int(frozen(torch.zeros(1, code_dim)).shape[-1])
        # A tuple hides the module from nn.Module's registry (apply/parameters/train/state_dict).
        self._frozen: tuple[nn.Module, ...] = (frozen,) if frozen is not None else ()
        widths = [frozen_out + self.n_extra, *(int(h) for h in hidden), int(features_dim)]
        layers: list[nn.Module] = []
        for w_in, w_out in zip(widths[:-1], widths[1:], strict=True):
            layers += [nn.Linear(w_in, w_out), activation_fn()]
        self.head = nn.Sequential(*layers)

    @property
    def frozen(self) -> nn.Module | None:
        """The frozen module, or ``None``."""
        return self._frozen[0] if self._frozen else None

    def _apply(self, fn, *args, **kwargs):  # noqa: ANN001 - torch's private signature
        # Keep the hidden frozen module on the extractor's device/dtype (.to, .cuda, .double ...).
        super()._apply(fn, *args, **kwargs)
        if self._frozen:
            self._frozen[0]._apply(fn, *args, **kwargs)
        return self

    def train(self, mode: bool = True) -> EncoderCodeExtractor:
        super().train(mode)
        if self._frozen:
            self._frozen[0].eval()  # frozen means eval mode, whatever SB3 asks of the policy
        return self

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        code, extra = observations[:, : self.code_dim], observations[:, self.code_dim :]
        if self._frozen:
            with torch.no_grad():
                code = self._frozen[0](code)
        return self.head(torch.cat([code, extra], dim=1))
