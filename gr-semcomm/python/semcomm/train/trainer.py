"""Training loop of the masked VQ-VAE codec: Algorithm 3 with Algorithm 2 (adversarial training with
weight perturbation) and the digital chain in the loop.

Per batch:
1. augment the batch if configured (``train.augment_flip``, ``train.augment_shift``, see
   :mod:`semcomm.train.augment`); draw an SNR per image uniformly from ``link.snr_db`` and a training
   mask per image (with ``model.masking: noise``, the masking probabilities and the inference keep set
   come from the PGD noise energy per patch, estimated once, at the start of the second epoch: the first
   epoch gives a fine-tuning's fresh head a meaning, and every later epoch, clean or adversarial, trains
   on the keep set that will be deployed; :meth:`Trainer.noise_masking_epoch`);
2. if adversarial training is on (from ``adversarial.start_epoch``): semantic noise by PGD (eq. 7)
   against the current model on the clean link, ``s' = s + Delta s``;
3. weight perturbation ``nu`` from the adversarial loss (eq. 11), added to the weights;
4. loss at ``theta + nu``: ``(1 - c) L(s') + c L(s)`` with ``c = adversarial.clean_weight``
   (the paper trains on ``s'`` only, ``c = 0``; mixing in clean samples keeps clean accuracy on
   small models; ``adversarial.loss: trades`` uses TRADES instead, :mod:`semcomm.train.trades`),
   where ``L = L_task + L_vq (13) + lambda_s L_s (15) + gamma / L sum L_FIM (18-19)`` and the decoder
   sees the indices *after* the digital link at the drawn SNR; with ``train.distill_from`` ``L_task`` is
   the distillation loss against a frozen teacher's logits of the clean image (:mod:`semcomm.train.distill`);
5. remove ``nu``, optimiser step (AdamW, cosine learning rate);
6. with ``train.ema_decay`` set, update the exponential moving average of the weights
   (:mod:`semcomm.train.ema`), which becomes the deployed model when training ends
   (:meth:`Trainer.deploy_average`).

The analog JSCC baselines (``scheme: jscc_at | jscc``, :class:`semcomm.nn.jscc.ViTJSCC`) use the same
loop: their AWGN/Rayleigh channel is inside the model at the drawn SNR, so there is no digital link,
no codebook term and no code restart (``L = L_task``). So do the JPEG baselines' classifiers
(``scheme: jpeg_ldpc_at | jpeg_ldpc``, :class:`semcomm.nn.classifier.ViTClassifier`), trained on the
images without any channel (their frames arrive intact or not at all), and the ResNet surrogate of the
black-box semantic noise (``scheme: resnet_surrogate``, :class:`semcomm.nn.resnet.ResNetClassifier`).

A checkpoint (weights, optimiser, epoch, RNG states, the weight average if any) is written after every
epoch and loaded with ``weights_only=True`` on resume. ``train.init_from`` starts from the weights of a
pre-training run (e.g. ``task: reconstruction``) with a fresh task head (:mod:`semcomm.train.pretrained`).
"""
from __future__ import annotations

import functools
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from ..attacks.pgd import pgd_attack
from ..attacks.statistics import patch_noise_energy
from ..config.link import channel_name
from ..data import load_dataset
from ..data.torch_data import make_loader
from ..nn.masked_vqvae import CodecConfig, MaskedVQVAE
from ..registry import family
from ..sim.error_profile import ProfileSettings
from ..sim.link import ChainSettings
from ..sim.profile_cache import load_or_build
from .augment import augment
from .awp import WeightPerturbation
from .distill import distillation_loss, load_teacher
from .ema import WeightAverage
from .pretrained import checkpoint_of, load_pretrained
from .trades import output_divergence


def build_model(config: dict, image_shape, num_classes: int) -> nn.Module:
    """The model of a training config's scheme (:func:`semcomm.registry.build_model`): its ``model`` section,
    the channel where its family simulates one (the analog JSCC, from the ``channel`` section), the dataset's
    image shape and classes."""
    kind = family(config["scheme"])
    channel = {kind.channel_field: channel_name(config["channel"]["fading"])} if kind.channel_field else {}
    return kind.build({"image_shape": tuple(image_shape), "num_classes": num_classes, **channel, **config["model"]})


#: Training steps between restarts of unused codebook entries.
CODE_RESTART_STEPS = 25


def objective(model: MaskedVQVAE, images, labels, snr_db, keep, channel, train_cfg: dict,
              outputs: dict | None = None, teacher_logits: torch.Tensor | None = None) -> torch.Tensor:
    """``L_task + L_vq + lambda_s L_s + gamma / L sum_l L_FIM`` of one batch (see module docstring).
    ``outputs``, if given, receives the model's forward outputs. With ``teacher_logits`` ``L_task`` is the
    distillation loss (:func:`semcomm.train.distill.distillation_loss`)."""
    out = model(images, snr_db, keep, labels, channel)
    if outputs is not None:
        outputs.update(out)
    if teacher_logits is None:
        task = model.task_loss(out["output"], images, labels)
    else:
        task = distillation_loss(out["output"], labels, teacher_logits, train_cfg["distill_weight"],
                                 train_cfg["distill_temperature"])
    loss = task + out["vq_loss"]
    if hasattr(model, "codebook"):  # the analog JSCC baseline has none
        loss = loss + train_cfg["similarity_weight"] * model.codebook.similarity_loss()
    if out["aux_logits"]:
        fim = sum(F.cross_entropy(aux, labels) for aux in out["aux_logits"]) / len(out["aux_logits"])
        loss = loss + train_cfg["fim_weight"] * fim
    return loss


def chain_settings(config: dict) -> ChainSettings:
    """The digital chain of a training config's ``link`` and ``channel`` sections."""
    link = config["link"]
    return ChainSettings(modulation=link["modulation"], code=link["code"], **config["channel"])


def make_link(config: dict, model_config: CodecConfig, run_dir: str):
    """The measured post-FEC error profile of the configured link for this codec's payload
    (built once, cached as ``<run_dir>/error_profile.json``; a stale cache is rebuilt)."""
    chain = chain_settings(config)
    settings = ProfileSettings.for_codec(model_config.codebook_size, model_config.num_tokens, chain=chain,
                                         seed=config["seed"])
    os.makedirs(run_dir, exist_ok=True)
    return load_or_build(os.path.join(run_dir, "error_profile.json"), settings, rebuild_stale=True)


class Trainer:
    def __init__(self, config: dict, run_dir: str = "runs", device: str = "cpu"):
        self.config = config
        self.run_dir = os.path.join(run_dir, config["name"])
        self.device = torch.device(device)
        data_cfg = config["data"]
        training_images = load_dataset(data_cfg["dataset"], "train", root=data_cfg["root"])
        self.train_set, self.validation_set = training_images.hold_out_tail(data_cfg["validation_images"])
        if data_cfg["train_subset"]:
            self.train_set = self.train_set.subset(np.arange(min(data_cfg["train_subset"], len(self.train_set))))
        if len(self.train_set) < config["train"]["batch_size"]:  # every epoch would be empty
            raise ValueError(f"{len(self.train_set)} training images ({len(self.validation_set)} held out for "
                             f"validation) are fewer than one batch of {config['train']['batch_size']}")
        torch.manual_seed(config["seed"])
        self.rng = np.random.default_rng(config["seed"])
        self.model = build_model(config, self.train_set.image_shape, len(self.train_set.classes))
        init_from = config["train"]["init_from"]
        self.pretrained = load_pretrained(self.model, checkpoint_of(run_dir, init_from)) if init_from else None
        self.model.to(self.device)
        self.teacher, self.teacher_record = self._teacher(run_dir)
        ema_decay = config["train"]["ema_decay"]
        self.average = WeightAverage(self.model, ema_decay) if ema_decay else None
        # the JSCC baselines' link is analog and inside the model, the JPEG classifiers see images: only
        # codecs with a codebook have a digital index link (error profile) and code restarts
        kind = family(config["scheme"]).name
        self.analog, self.digital = kind == "analog", kind == "digital"
        self.link = (make_link(config, self.model.config, self.run_dir)
                     if config["link"]["enabled"] and self.digital else None)
        train_cfg = config["train"]
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=train_cfg["lr"],
                                           weight_decay=train_cfg["weight_decay"])
        steps = train_cfg["epochs"] * -(-len(self.train_set) // train_cfg["batch_size"])
        self.scheduler = torch.optim.lr_scheduler.OneCycleLR(self.optimizer, max_lr=train_cfg["lr"],
                                                             total_steps=steps, pct_start=0.1)
        self.awp = WeightPerturbation(self.model, config["adversarial"]["awp_gamma"])
        self.epoch = 0
        self.steps = 0
        self.restarted_codes = 0
        self.history: list[dict] = []

    def _teacher(self, run_dir: str):
        """``(teacher, record)`` of ``train.distill_from`` (:mod:`semcomm.train.distill`), else ``(None, None)``."""
        name = self.config["train"]["distill_from"]
        if not name:
            return None, None
        if self.config["model"].get("task", "classification") != "classification":
            raise ValueError("train.distill_from needs a classification model (model.task: classification)")
        shape, classes = self.train_set.image_shape, self.train_set.classes
        return load_teacher(run_dir, name, lambda config: build_model(config, shape, len(classes)), self.device,
                            self.config["data"], classes)

    # ------------------------------------------------------------------ checkpoints
    @functools.cached_property
    def test_set(self):
        """The test images, read when an evaluation first asks for them (training alone never does)."""
        data_cfg = self.config["data"]
        return load_dataset(data_cfg["dataset"], "test", root=data_cfg["root"])

    @property
    def checkpoint_path(self) -> str:
        return os.path.join(self.run_dir, "checkpoint.pt")

    def save(self) -> None:
        os.makedirs(self.run_dir, exist_ok=True)
        state = {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "scheduler": self.scheduler.state_dict(), "epoch": self.epoch,
                 "torch_rng": torch.get_rng_state(), "history": self.history,
                 "numpy_rng": self.rng.bit_generator.state}
        if self.average is not None:
            state["ema"] = self.average.state_dict()
        torch.save(state, self.checkpoint_path + ".tmp")
        os.replace(self.checkpoint_path + ".tmp", self.checkpoint_path)

    def resume(self) -> bool:
        """Continue a training from :attr:`checkpoint_path` (weights, optimiser, schedule, random states);
        False when there is none."""
        state = self.load_weights()
        if state is None:
            return False
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.history = state["history"]
        torch.set_rng_state(state["torch_rng"])
        self.rng.bit_generator.state = state["numpy_rng"]
        return True

    def load_weights(self) -> dict | None:
        """Load the weights of :attr:`checkpoint_path` (model, weight average, epoch; what an evaluation
        needs) and return the checkpoint; None when there is none."""
        if not os.path.exists(self.checkpoint_path):
            return None
        state = torch.load(self.checkpoint_path, map_location=self.device, weights_only=True)
        self.model.load_state_dict(state["model"])
        self.epoch = state["epoch"]
        if self.average is not None:
            if "ema" not in state:
                raise ValueError(f"{self.checkpoint_path} holds no weight average, but the config sets "
                                 f"train.ema_decay: {self.average.decay}")
            self.average.load_state_dict(state["ema"])
        return state

    def deploy_average(self) -> None:
        """Load the weight average (``train.ema_decay`` set) into :attr:`model`, the weights export and
        evaluation then use (as :func:`semcomm.train.ema.deployed_weights` does from the checkpoint)."""
        self.model.load_state_dict(self.average.weights)

    # --------------------------------------------------------------------- training
    def _channel(self, snr_db: torch.Tensor):
        if self.link is None:
            return None

        def through_link(indices: torch.Tensor) -> torch.Tensor:
            received, _ = self.link.corrupt(indices.cpu().numpy(), snr_db.cpu().numpy(), self.rng)
            return torch.from_numpy(np.asarray(received, dtype=np.int64)).to(indices.device)
        return through_link

    def estimate_noise_masking(self, images: int = 2000) -> torch.Tensor:
        """Noise-related masking: per-patch PGD noise energy on training images, set in the model."""
        adv, (low, high) = self.config["adversarial"], self.config["link"]["snr_db"]
        subset = self.train_set.subset(np.arange(min(images, len(self.train_set))))
        x = torch.from_numpy(subset.float_images())
        y = torch.from_numpy(subset.labels)
        snr = torch.empty(len(x)).uniform_(low, high)
        self.model.eval()
        energy = patch_noise_energy(self.model, x, y, snr, adv["eps"], adv["alpha"], adv["steps"], adv["norm"])
        self.model.set_noise_statistics(energy)
        return energy

    @property
    def noise_masking_epoch(self) -> int | None:
        """Epoch (1-based) at whose start the noise-related masking is estimated: the second (the first
        when there is only one); ``None`` for other maskings."""
        if self.config["model"].get("masking") != "noise":
            return None
        return min(2, self.config["train"]["epochs"])

    def training_keep(self, batch: int):
        """Training mask ``[N, T]``: :meth:`sample_keep` of the model, with a share
        ``train.fixed_mask_fraction`` of the images (drawn from torch's RNG) given the inference keep
        set instead, so the decoder also learns the fixed positions it sees after deployment.
        ``None`` for the analog JSCC baselines (no masking)."""
        keep = self.model.sample_keep(batch)
        fraction = self.config["train"].get("fixed_mask_fraction", 0.0)
        if keep is None or fraction <= 0:
            return keep
        fixed = torch.rand(batch, device=keep.device) < fraction
        return torch.where(fixed[:, None], self.model.inference_keep[None, :].to(keep.device), keep)

    def train_epoch(self) -> dict:
        cfg, adv = self.config, self.config["adversarial"]
        attack = adv["enabled"] and self.epoch + 1 >= adv["start_epoch"]
        masking = None
        if self.epoch + 1 == self.noise_masking_epoch:  # recorded: the keep set is not a learned weight
            energy = self.estimate_noise_masking()
            masking = {"patch_noise_energy": [round(float(e), 8) for e in energy],
                       "inference_keep": self.model.inference_keep.tolist()}
        low, high = cfg["link"]["snr_db"]
        loader = make_loader(self.train_set, cfg["train"]["batch_size"], shuffle=True, drop_last=True,
                             seed=cfg["seed"] + self.epoch)
        self.model.train()
        total, count, start = 0.0, 0, time.perf_counter()
        bar = tqdm(loader, desc=f"epoch {self.epoch + 1}/{cfg['train']['epochs']}" + (" AT" if attack else ""),
                   leave=False, unit="batch")
        for images, labels in bar:
            images, labels = images.to(self.device), labels.to(self.device)
            images = augment(images, cfg["train"]["augment_flip"], cfg["train"]["augment_shift"])
            snr_db = torch.empty(len(images), device=self.device).uniform_(low, high)
            keep = self.training_keep(len(images))
            loss = self._step(images, labels, snr_db, keep, attack)
            total, count = total + loss * len(images), count + len(images)
            bar.set_postfix(loss=f"{total / count:.3f}")
        self.epoch += 1
        record = {"epoch": self.epoch, "loss": total / count, "adversarial": attack,
                  "seconds": time.perf_counter() - start, "restarted_codes": self.restarted_codes}
        if masking:
            record["noise_masking"] = masking
        self.history.append(record)
        return record

    def _step(self, images, labels, snr_db, keep, attack: bool) -> float:
        cfg, adv = self.config["train"], self.config["adversarial"]
        channel = self._channel(snr_db)

        clean_outputs: dict = {}
        teacher_logits = None
        if self.teacher is not None:
            with torch.no_grad():
                teacher_logits = self.teacher.logits(images)

        def loss_on(x, link=channel, outputs=None):
            return objective(self.model, x, labels, snr_db, keep, link, cfg, outputs, teacher_logits)

        self.optimizer.zero_grad(set_to_none=True)
        if not attack:
            loss = loss_on(images, outputs=clean_outputs)
        elif adv["loss"] == "trades":
            loss = self._trades_loss(images, labels, snr_db, keep, channel, loss_on, clean_outputs)
        else:
            loss = self._mixed_loss(images, loss_on, clean_outputs)
        loss.backward()
        self.awp.restore()  # no-op when no weight perturbation was applied
        self.optimizer.step()
        self.scheduler.step()
        self.steps += 1
        if self.steps % CODE_RESTART_STEPS == 0 and self.digital:
            self.restarted_codes += self.model.codebook.restart_unused(clean_outputs["z_e"].detach())
        if self.average is not None:
            self.average.update()
        return float(loss.detach())

    def _mixed_loss(self, images, loss_on, clean_outputs: dict) -> torch.Tensor:
        """Algorithm 2: PGD on the objective, weight perturbation, ``(1 - c) L(s') + c L(s)`` at ``theta + nu``."""
        adv = self.config["adversarial"]
        adversarial = pgd_attack(images, lambda x: loss_on(x, None), adv["eps"], adv["alpha"], adv["steps"],
                                 adv["norm"], adv["random_start"])
        if adv["awp_gamma"] > 0:
            self.awp.perturb(lambda: loss_on(adversarial, None))
        return ((1 - adv["clean_weight"]) * loss_on(adversarial)
                + adv["clean_weight"] * loss_on(images, outputs=clean_outputs))

    def _trades_loss(self, images, labels, snr_db, keep, channel, loss_on, clean_outputs: dict) -> torch.Tensor:
        """TRADES (:mod:`semcomm.train.trades`): PGD on the divergence from the clean output, weight
        perturbation, ``L(s) + beta KL(f(s) || f(s'))`` at ``theta + nu``."""
        adv = self.config["adversarial"]

        def logits(x, link=None):
            return self.model(x, snr_db, keep, labels, link)["output"]

        with torch.no_grad():
            target = logits(images)
        adversarial = pgd_attack(images, lambda x: output_divergence(target, logits(x)), adv["eps"], adv["alpha"],
                                 adv["steps"], adv["norm"], adv["random_start"])
        if adv["awp_gamma"] > 0:
            self.awp.perturb(lambda: adv["trades_beta"] * output_divergence(target, logits(adversarial)))
        clean_loss = loss_on(images, outputs=clean_outputs)
        return clean_loss + adv["trades_beta"] * output_divergence(clean_outputs["output"],
                                                                   logits(adversarial, channel))

    def fit(self, progress=print) -> list[dict]:
        while self.epoch < self.config["train"]["epochs"]:
            record = self.train_epoch()
            self.save()
            progress(f"epoch {record['epoch']}: loss {record['loss']:.4f}"
                     f"{' (adversarial)' if record['adversarial'] else ''}, {record['seconds']:.0f} s")
        return self.history
