"""The scripts' closed-form Gaussian log-density and KL agree with torch.distributions."""

import torch
from scripts import load_script
from torch.distributions import Normal, kl_divergence

clip, kl = load_script("ppo_clip.py"), load_script("ppo_kl.py")


def test_log_prob_matches_torch_normal():
    gen = torch.Generator().manual_seed(0)
    mean, action = torch.randn(256, 6, generator=gen, dtype=torch.float64), torch.randn(256, 6, generator=gen, dtype=torch.float64)
    logstd = torch.randn(1, 6, generator=gen, dtype=torch.float64)
    expected = Normal(mean, logstd.exp()).log_prob(action).sum(1)
    assert torch.allclose(clip.gaussian_log_prob(action, mean, logstd), expected, rtol=1e-12, atol=1e-12)


def test_gaussian_kl_matches_torch():
    gen = torch.Generator().manual_seed(1)
    mean_old, mean = (torch.randn(256, 3, generator=gen, dtype=torch.float64) for _ in range(2))
    logstd_old, logstd = (torch.randn(1, 3, generator=gen, dtype=torch.float64) * 0.5 for _ in range(2))
    expected = kl_divergence(Normal(mean_old, logstd_old.exp()), Normal(mean, logstd.exp())).sum(1)  # KL(old ‖ new)
    assert torch.allclose(kl.gaussian_kl(mean_old, logstd_old, mean, logstd), expected, rtol=1e-12, atol=1e-12)
    reverse = kl_divergence(Normal(mean, logstd.exp()), Normal(mean_old, logstd_old.exp())).sum(1)
    assert not torch.allclose(kl.gaussian_kl(mean_old, logstd_old, mean, logstd), reverse)
