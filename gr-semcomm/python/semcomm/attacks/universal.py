"""Sample-independent receiver-side semantic noise: Hu et al., Algorithm 1 (Sec. II-B2, eq. 8).

One waveform ``delta [P]`` over the payload symbols, the same for every frame, crafted on training images::

    y = x + n + H_a delta          (H_t = 1; n ~ CN(0, N0), Es/N0 = 1/N0; H_a from its statistics)

Algorithm 1, batched over ``B`` training frames (frame ``b`` with its own noise ``n_b`` and draw ``H_a,b``,
as the paper pairs received signal ``n`` with channel draw ``n``; ``draws`` repeats each frame with more draws):

1. per frame, ``K`` normalised gradient steps of a sample-dependent attack, ``delta_b,0 = 0``::

       g   = grad_y CE(g(x_b + n_b + H_a,b T(delta_b,k)), z_b)       (task loss with the true label)
       u   = T^*(conj(H_a,b) g) / ||T^*(conj(H_a,b) g)||_2         (the paper's conjugate-channel step)
       delta_b,k+1 = delta_b,k + alpha u,      alpha = step_ratio * eps / K   (K alpha > eps)

   ``T`` is the identity here (:class:`ShiftRobustNoise`: a random shift and phase); autograd on
   ``delta_b`` gives ``T^*(conj(H_a) g)`` exactly;
2. weighted average of the unit directions ``delta_b,K / ||delta_b,K||`` (weights ``rho = 1``: every
   frame counts the same) -> ``Delta``;
3. normalisation to the budget: ``||Delta||_2 = eps = sqrt(P 10^(PSR/10) mean|x|^2)`` (the PSR over the
   payload, :mod:`semcomm.attacks`).

Deviations from the paper: (a) the average is an equal-weight running sum normalised after each batch (the
paper renormalises after every sample with a fixed ``rho``, which forgets early samples geometrically);
(b) ``passes > 1`` repeats the training set with fresh noise and channel draws, and each sample's inner attack
starts from the current universal noise (``y = x + n + H_a (Delta + delta_b)``, the warm start of universal
adversarial perturbations; ``passes = 1`` without warm start is the paper's algorithm).

The gradient model: digital codecs through :class:`.soft_receiver.SoftReceiver` (demapping, unrolled
layered min-sum, expected codebook vectors, ``decode_vectors``); analog JSCC through ``model.decode`` on the
received channel symbols ``[N, S, 2]``.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .base import Attack, CraftContext
from .perturbation import Perturbation, frame_layout
from .soft_receiver import SoftReceiver
from .threat import PAYLOAD_START, ThreatModel, attacker_gains


class UniversalNoise(Attack):
    """Hu et al.'s sample-independent semantic noise over the payload (module doc).

    ``iterations``: ``K``; ``draws``: attacker-channel draws per training frame; ``batch_size``: frames per
    gradient batch; ``passes``: passes over the training set; ``step_ratio``: ``K alpha / eps``;
    ``decoder_iterations`` and ``temperature``: the soft receiver's unrolled iterations and bit temperature.
    ``passes=1`` is the paper's algorithm; the defaults (3 warm-started passes, ``K = 2``, ``T = 30``) were the
    strongest of those tried on 300 training / 300 test images of ``masked_vqvae_fim_at`` at Es/N0 10 dB
    (accuracy at PSR -1 dB: 0.39, against 0.70 for one pass with ``K = 3, T = 10`` and 0.53 for payload
    Gaussian jamming).
    """
    name, span = "universal", "payload"
    threat = ThreatModel(model="white_box", channel="statistics", sync="oracle")
    families = ("digital", "analog")
    budget_crafted = True  #: step 3 normalises to the budget, and the directions found depend on it

    def __init__(self, iterations: int = 2, draws: int = 1, batch_size: int = 50, passes: int = 3,
                 step_ratio: float = 2.0, decoder_iterations: int = 5, temperature: float = 30.0):
        if min(int(iterations), int(draws), int(batch_size), int(passes), int(decoder_iterations)) < 1:
            raise ValueError("iterations, draws, batch_size, passes and decoder_iterations must be >= 1")
        self.iterations, self.draws, self.passes = int(iterations), int(draws), int(passes)
        self.batch_size, self.step_ratio = int(batch_size), float(step_ratio)
        self.decoder_iterations, self.temperature = int(decoder_iterations), float(temperature)
        self.delta: np.ndarray | None = None  #: the crafted payload waveform ``[P]`` complex64, ``||.|| = eps``
        self.training: dict = {}

    # ------------------------------------------------------------------------------------ crafting
    def craft(self, context: CraftContext) -> None:
        victim, rng = context.victim, np.random.default_rng(context.seed)
        batch = victim.transmit(context.images, context.labels, context.snr_db)
        x = torch.from_numpy(batch.payload.copy())
        labels = torch.as_tensor(context.labels).long()
        n0 = 10.0 ** (-context.snr_db / 10.0)
        eps = math.sqrt(x.shape[1] * 10.0 ** (context.psr_db / 10.0) * float((x.abs() ** 2).mean()))
        loss_of = self._loss_function(victim, n0, context.snr_db)
        total = torch.zeros(x.shape[1], dtype=torch.complex64)
        delta = torch.zeros_like(total)
        steps = [(p, s) for p in range(self.passes) for s in range(0, len(x), self.batch_size)]
        for p, start in _progress(steps, context.progress, self.name):
            frames = torch.arange(start, min(start + self.batch_size, len(x))).repeat(self.draws)
            gains = torch.from_numpy(attacker_gains(context.attacker_channel, len(frames), rng))
            received = x[frames] + _noise(rng, (len(frames), x.shape[1]), n0)
            base = delta if p > 0 else torch.zeros_like(delta)
            directions = self._sample_attacks(loss_of, received, gains, labels[frames], base, eps, rng)
            total = total + directions.sum(dim=0)
            delta = eps * total / total.abs().pow(2).sum().sqrt()
        self.delta = delta.numpy().astype(np.complex64)
        self.training = self._summary(context, loss_of, x, labels, n0, eps, rng)

    def _sample_attacks(self, loss_of, received, gains, labels, base, eps, rng) -> torch.Tensor:
        """Step 1 of the module doc for a batch: unit directions ``delta_b,K / ||delta_b,K||`` ``[B, P]``."""
        alpha = self.step_ratio * eps / self.iterations
        own = torch.zeros_like(received)
        for _ in range(self.iterations):
            own.requires_grad_(True)
            transform = self._transform(len(received), received.shape[1], rng)
            y = received + gains[:, None] * transform(base[None, :] + own)
            grad, = torch.autograd.grad(loss_of(y, labels), own)
            own = (own + alpha * _unit(grad)).detach()
        return _unit(own)

    def _transform(self, frames: int, length: int, rng):
        """``T`` of the module doc: the identity (a frame-aligned attacker)."""
        return lambda delta: delta

    def _loss_function(self, victim, n0: float, snr_db: float):
        """``loss(y [B, P] complex, labels [B]) -> summed cross entropy`` through the victim's receiver."""
        model = victim.model
        if victim.family == "analog":
            def loss(y, labels):
                snr = torch.full((len(y),), float(snr_db))
                return F.cross_entropy(model.decode(torch.stack([y.real, y.imag], dim=-1), snr), labels,
                                       reduction="sum")
            return loss
        if victim.family != "digital":
            raise ValueError(f"{self.name} applies to {', '.join(self.families)} codecs, not {victim.family}")
        layout = _payload_layout(victim)
        receiver = SoftReceiver(layout, victim.mapper, self.decoder_iterations, llr_method=victim.chain.llr_method,
                                temperature=self.temperature)

        def loss(y, labels):
            noise = torch.full((len(y),), n0)
            logits = receiver.logits(model, y[:, :layout.num_symbols], noise, torch.full((len(y),), float(snr_db)))
            return F.cross_entropy(logits, labels, reduction="sum")
        return loss

    @torch.no_grad()
    def _summary(self, context, loss_of, x, labels, n0, eps, rng) -> dict:
        """Mean crafting loss without and with the crafted noise (same noise and channel draws)."""
        received = x + _noise(rng, tuple(x.shape), n0)
        gains = torch.from_numpy(attacker_gains(context.attacker_channel, len(x), rng))
        shifted = self._transform(len(x), x.shape[1], rng)(torch.from_numpy(self.delta)[None, :].expand(len(x), -1))
        clean = float(loss_of(received, labels)) / len(x)
        attacked = float(loss_of(received + gains[:, None] * shifted, labels)) / len(x)
        return {"images": int(len(x)), "snr_db": float(context.snr_db), "psr_db": float(context.psr_db),
                "attacker_channel": context.attacker_channel, "seed": int(context.seed), "eps": eps,
                "iterations": self.iterations, "draws": self.draws, "passes": self.passes,
                "loss_clean": clean, "loss_attacked": attacked}

    # ---------------------------------------------------------------------------------- evaluation
    def perturb(self, batch, psr_db: float, rng: np.random.Generator) -> np.ndarray:
        """The crafted waveform at the payload (symbols ``532 ..``) of every frame, scaled to ``psr_db``."""
        return self.scaled(batch, self.frame_waveform(batch.symbols.shape[1]), psr_db)

    def frame_waveform(self, frame_symbols: int) -> np.ndarray:
        """One frame ``[frame_symbols]``: zeros, the crafted ``delta`` from the first payload symbol."""
        if self.delta is None:
            raise ValueError(f"{self.name}: craft() the perturbation before using it")
        if frame_symbols < PAYLOAD_START + len(self.delta):
            raise ValueError(f"{self.name}: a frame of {frame_symbols} symbols cannot hold the {len(self.delta)} "
                             "payload symbols it was crafted for")
        frame = np.zeros(frame_symbols, dtype=np.complex64)
        frame[PAYLOAD_START:PAYLOAD_START + len(self.delta)] = self.delta
        return frame

    def to_perturbation(self, victim, context: CraftContext) -> Perturbation:
        """The crafted waveform as a perturbation file's content (:mod:`.perturbation`)."""
        layout = victim_frame_layout(victim, PAYLOAD_START + len(self.delta))
        return Perturbation(symbols=self.frame_waveform(layout["frame_symbols"]), kind=self.name,
                            scheme=victim.scheme.name, model_id=victim.scheme.card["model_id"], layout=layout,
                            span=self.span, psr_db=float(context.psr_db), threat=self.threat.to_dict(),
                            training=dict(self.training))


class ShiftRobustNoise(UniversalNoise):
    """:class:`UniversalNoise` that survives timing errors: expectation over transformation (Athalye et al.)
    of a random integer shift ``s ~ U{-max_shift..max_shift}`` symbols (the perturbation arrives ``s`` symbols
    late, ``s < 0`` early; symbols pushed outside the payload are lost) and a uniform carrier phase, drawn per
    frame and per step; :meth:`perturb` applies a fresh shift per frame from ``rng``.

    ``max_shift = 8``: an attacker that triggers on the victim's preamble knows the frame start to within its
    detector's latency jitter, a few symbols (8 symbols = 32 samples at 4 samples per symbol); a larger range
    blurs the waveform toward stationary noise (the expectation then averages over more of the payload).
    """
    name = "universal_shift"
    threat = ThreatModel(model="white_box", channel="statistics", sync="timing_error")

    def __init__(self, max_shift: int = 8, **options):
        super().__init__(**options)
        if int(max_shift) < 0:
            raise ValueError(f"max_shift must be >= 0, got {max_shift}")
        self.max_shift = int(max_shift)

    def _transform(self, frames: int, length: int, rng):
        shifts = torch.from_numpy(rng.integers(-self.max_shift, self.max_shift + 1, frames))
        phases = torch.from_numpy(np.exp(2j * np.pi * rng.random(frames)).astype(np.complex64))
        source = torch.arange(length)[None, :] - shifts[:, None]  # [F, P]: symbol k carries delta[k - s]
        inside = (source >= 0) & (source < length)

        def transform(delta):
            taken = torch.gather(delta.expand(frames, -1), 1, source.clamp(0, length - 1))
            return phases[:, None] * torch.where(inside, taken, torch.zeros((), dtype=taken.dtype))
        return transform

    def perturb(self, batch, psr_db: float, rng: np.random.Generator) -> np.ndarray:
        """The crafted waveform, each frame's copy shifted by its own ``s`` (its phase is ``H_a``'s)."""
        frame = self.frame_waveform(batch.symbols.shape[1])
        shifts = rng.integers(-self.max_shift, self.max_shift + 1, len(batch.symbols))
        rows = np.stack([_shift(frame, int(s)) for s in shifts])
        return self.scaled(batch, rows, psr_db)

    def describe(self) -> dict:
        return {**super().describe(), "max_shift_symbols": self.max_shift}


def _shift(frame: np.ndarray, shift: int) -> np.ndarray:
    """``frame`` delayed by ``shift`` symbols (advanced when negative), zero filled."""
    out = np.zeros_like(frame)
    if shift >= 0:
        out[shift:] = frame[:len(frame) - shift]
    else:
        out[:shift] = frame[-shift:]
    return out


def _payload_layout(victim):
    """The payload layout of the victim's frames (one payload length per digital codec)."""
    payload_bytes = victim.mapper.num_bits // 8 + (victim.mapper.num_bits % 8 > 0)
    return victim.modem.layout(payload_bytes)


def victim_frame_layout(victim, frame_symbols: int) -> dict:
    """:func:`.perturbation.frame_layout` for a digital codec; an analog frame is the preamble and header
    followed by its channel symbols (no payload bytes, no code)."""
    if victim.family == "digital":
        return frame_layout(victim, _payload_layout(victim).payload_len)
    return {"modulation": "analog", "code": "none", "payload_bytes": 0, "frame_symbols": int(frame_symbols),
            "payload_symbols": int(frame_symbols - PAYLOAD_START)}


def _noise(rng: np.random.Generator, shape, n0: float) -> torch.Tensor:
    """``CN(0, N0)`` samples, complex64."""
    samples = rng.standard_normal((*shape, 2)) * math.sqrt(n0 / 2)
    return torch.from_numpy((samples[..., 0] + 1j * samples[..., 1]).astype(np.complex64))


def _unit(values: torch.Tensor) -> torch.Tensor:
    """Each row ``[B, P]`` divided by its L2 norm (a zero row stays zero)."""
    norms = values.abs().pow(2).sum(dim=1, keepdim=True).sqrt()
    return values / torch.where(norms > 0, norms, torch.ones_like(norms))


def _progress(items, enabled: bool, name: str):
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=f"crafting {name}", unit="batch")
