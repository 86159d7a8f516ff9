"""Channel models: AWGN, block fading, synchronisation impairments and the receiver-side attacker.

Conventions (shared with :mod:`semcomm.phy.qam`): complex64 signals ``[..., n]`` with independent
frames on the leading axes, unit average symbol energy ``Es = 1``, noise ``n ~ CN(0, N0)``
(``N0 / 2`` per real dimension), SNRs in dB, and an explicit ``rng: np.random.Generator`` for
every random function. A typical chain is::

    faded, h = rayleigh_fading(x, rng, block_length=64)
    y, n0 = attack_channel(x, gaussian_jamming(x.shape, rng), psr_db=-10, esn0_db=12, rng=rng, h_t=h)
    x_hat, n0_eff = equalize(y, h, n0)          # perfect CSI; without CSI use (y, n0)
"""
from ._checks import mean_power
from .attacker import attack_channel, gaussian_jamming, measure_psr_db, scale_to_psr, tone_jamming
from .awgn import (awgn, complex_normal, ebn0_to_esn0_db, esn0_to_ebn0_db, measure_esn0_db,
                   noise_variance)
from .fading import block_gains, equalize, rayleigh_fading, rician_fading
from .impairments import (fractional_delay, fractional_delay_taps, frequency_offset, phase_noise,
                          phase_noise_variance)

__all__ = [
    "attack_channel", "awgn", "block_gains", "complex_normal", "ebn0_to_esn0_db", "equalize",
    "esn0_to_ebn0_db", "fractional_delay", "fractional_delay_taps", "frequency_offset",
    "gaussian_jamming", "mean_power", "measure_esn0_db", "measure_psr_db", "noise_variance",
    "phase_noise", "phase_noise_variance", "rayleigh_fading", "rician_fading", "scale_to_psr",
    "tone_jamming",
]
