"""Draw β_t/|Â| against w for both advantage signs and every gate shape of ppo_beta_shapes.py.

    python docs/beta_shapes.py        # writes docs/beta_shapes.png
"""

import importlib.util
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("ppo_beta_shapes", ROOT / "ppo_beta_shapes.py")
shapes = importlib.util.module_from_spec(spec)
spec.loader.exec_module(shapes)  # the script's own beta_gate, not a copy

SOFTNESS = 0.05
CURVES = [  # label, shape, ε_low, ε_high
    ("step (PPO-Clip), ε = 0.2", "step", 0.2, 0.2),
    (f"sigmoid, s = {SOFTNESS}", "sigmoid", 0.2, 0.2),
    (f"linear, s = {SOFTNESS}", "linear", 0.2, 0.2),
    ("step, asymmetric ε = 0.2 / 0.28", "step", 0.2, 0.28),
]


def main():
    w = torch.linspace(0.5, 1.6, 2001, dtype=torch.float64)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for ax, sign in zip(axes, (1.0, -1.0)):
        adv = torch.full_like(w, sign)
        for label, shape, low, high in CURVES:
            gate = shapes.beta_gate(w, adv, low, high, shape, SOFTNESS)
            beta = -w * adv * gate  # β_t = −w·Â·g_t
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


if __name__ == "__main__":
    main()
