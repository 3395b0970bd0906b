"""Draw the gates of ppo_beta_shapes.py from the script's own beta_gate:

    python docs/beta_shapes.py        # writes docs/beta_shapes.png and docs/beta_zoo.png

beta_shapes.png: β_t/|Â| against w, both advantage signs, the step and its soft versions.
beta_zoo.png: the effective gradient weight 1 − G_t against w (a sample's gradient is
−Â·(1 − G_t)·∇w), both advantage signs, every shape at its default flags. trppo's gate depends on
the state's KL(π_old‖π_θ), not only on w: it is drawn for a state with KL_s ≥ δ and one with KL_s < δ.
"""

import dataclasses
import importlib.util
from pathlib import Path
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("ppo_beta_shapes", ROOT / "ppo_beta_shapes.py")
shapes = importlib.util.module_from_spec(spec)
spec.loader.exec_module(shapes)  # the script's own beta_gate, not a copy
DEFAULTS = dataclasses.asdict(shapes.Args())  # the script's flags at their defaults

SOFTNESS = 0.05
CURVES = [  # label, shape, ε_low, ε_high
    ("step (PPO-Clip), ε = 0.2", "step", 0.2, 0.2),
    (f"sigmoid, s = {SOFTNESS}", "sigmoid", 0.2, 0.2),
    (f"linear, s = {SOFTNESS}", "linear", 0.2, 0.2),
    ("step, asymmetric ε = 0.2 / 0.28", "step", 0.2, 0.28),
]
# The zoo, two panels per sign: the clip's hard relatives, then the smooth ones (label, shape, state KL, style)
ZOO_PANELS = [
    [
        ("step (PPO-Clip)", "step", None, dict(color="0.75", lw=3.5)),
        (f"sigmoid, s = {SOFTNESS}", "sigmoid", None, dict(color="C7", lw=1.2, ls=":")),
        (f"linear, s = {SOFTNESS}", "linear", None, dict(color="C8", lw=1.2, ls=":")),
        ("dual_clip, c = 3", "dual_clip", None, dict(color="C0", lw=1.6, ls="--")),
        ("rollback, α = 0.3", "rollback", None, dict(color="C1", lw=1.6)),
        ("trppo, state KL ≥ δ", "trppo", 0.05, dict(color="C2", lw=1.6, ls="-.")),
        ("trppo, state KL < δ", "trppo", 0.02, dict(color="C2", lw=1.4, ls=":")),
    ],
    [
        ("step (PPO-Clip)", "step", None, dict(color="0.75", lw=3.5)),
        ("spo", "spo", None, dict(color="C3", lw=1.6)),
        ("cispo", "cispo", None, dict(color="C4", lw=1.6)),
        ("gppo, c = 3", "gppo", None, dict(color="C5", lw=1.6, ls="--")),
        ("sapo, τ = 1.0 / 1.05", "sapo", None, dict(color="C6", lw=1.6)),
    ],
]


def gate(w, adv, shape, state_kl=None, **flags):
    args = SimpleNamespace(**{**DEFAULTS, "beta_shape": shape, "beta_softness": SOFTNESS, **flags})
    kl = None if state_kl is None else torch.full_like(w, state_kl)
    return shapes.beta_gate(w, adv, args, kl)


def draw_beta_shapes():
    w = torch.linspace(0.5, 1.6, 2001, dtype=torch.float64)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for ax, sign in zip(axes, (1.0, -1.0)):
        adv = torch.full_like(w, sign)
        for label, shape, low, high in CURVES:
            g = gate(w, adv, shape, clip_coef_low=low, clip_coef_high=high)
            beta = -w * adv * g  # β_t = −w·Â·g_t
            ax.plot(w, beta / adv.abs(), label=label, lw=1.6, ls="--" if low != high else "-")
        ax.axvspan(0.8, 1.2, color="0.9", zorder=0)
        ax.set_title(f"Â {'> 0' if sign > 0 else '< 0'}: β_t/|Â| = {'−w·g_t' if sign > 0 else 'w·g_t'}")
        ax.set_xlabel("w = π_θ/π_old  (grey: the band [1−ε, 1+ε], ε = 0.2)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("β_t / |Â|")
    axes[1].legend(fontsize=8, loc="upper right")
    fig.suptitle("Per-sample KL coefficient β_t = −w·Â·g_t: the clip is the step gate", fontsize=11)
    fig.tight_layout()
    fig.savefig(ROOT / "docs" / "beta_shapes.png", dpi=120)


def draw_zoo():
    w = torch.linspace(0.02, 4.0, 3981, dtype=torch.float64)
    fig, axes = plt.subplots(2, 2, figsize=(13, 7.2), sharex=True, sharey=True)
    for row, panel in enumerate(ZOO_PANELS):
        for col, sign in enumerate((1.0, -1.0)):
            ax = axes[row, col]
            adv = torch.full_like(w, sign)
            for label, shape, state_kl, style in panel:
                ax.plot(w, 1 - gate(w, adv, shape, state_kl), label=label, **style)
            ax.axvspan(0.8, 1.2, color="0.9", zorder=0)
            ax.axhline(0, color="0.5", lw=0.6)
            ax.set_ylim(-1.6, 2.6)
            ax.set_title(f"Â {'> 0' if sign > 0 else '< 0'}", fontsize=10)
            ax.grid(alpha=0.3)
            if row == 1:
                ax.set_xlabel("w = π_θ/π_old  (grey: the band, ε = 0.2)")
            if col == 0:
                ax.set_ylabel("1 − G_t  (1: unclipped, 0: zeroed)")
        axes[row, 1].legend(fontsize=9, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.suptitle(
        "The β_t zoo: a sample's gradient is −Â·(1 − G_t)·∇w  (below 0: reversed, above 1: amplified)\n"
        "trppo's gate depends on the state's KL(π_old‖π_θ), drawn at 0.05 ≥ δ and 0.02 < δ (δ = 0.035); "
        "spo's line leaves the plot",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(ROOT / "docs" / "beta_zoo.png", dpi=110)


if __name__ == "__main__":
    draw_beta_shapes()
    draw_zoo()
