"""The scheme registry (:mod:`semcomm.registry`): one family per scheme, references that resolve, models that
know their family, the training config's model sections built from it."""
import subprocess
import sys

import pytest

from semcomm import registry

pytest.importorskip("torch")


def test_every_scheme_has_one_family_and_every_reference_resolves():
    schemes = [scheme for kind in registry.FAMILIES for scheme in kind.schemes]
    assert len(schemes) == len(set(schemes)) == len(registry.scheme_names())
    for kind in registry.FAMILIES:
        for reference in (kind.config, kind.model, kind.exporter, kind.parity, kind.evaluator):
            assert registry._load(reference) is not None, reference
        assert kind.config_class().SCHEMA["additionalProperties"] is False
        assert all(registry.family(scheme) is kind for scheme in kind.schemes)
        assert registry.schemes_of(kind.name) == kind.schemes


def test_unknown_scheme_is_refused_with_the_registered_ones():
    with pytest.raises(ValueError, match="unknown scheme 'amp_sc'; registered: masked_vqvae_fim_at"):
        registry.family("amp_sc")


@pytest.mark.parametrize("scheme, fields", [
    ("masked_vqvae", dict(dim=16, encoder_depth=1, decoder_dim=16, decoder_depth=1, heads=2, code_dim=8,
                          codebook_size=16)),
    ("jscc", dict(dim=16, encoder_depth=1, decoder_dim=16, decoder_depth=1, heads=2, symbols=8)),
    ("jpeg_ldpc", dict(dim=16, depth=1, heads=2)),
    ("resnet_surrogate", dict(widths=[4, 8], blocks=1)),
])
def test_a_built_model_knows_its_family(scheme, fields):
    model = registry.build_model(scheme, fields)
    assert registry.family_of(model) is registry.family(scheme)


def test_the_vit_configs_share_one_base():
    from semcomm.nn.vit import ViTConfig

    vit_families = [kind for kind in registry.FAMILIES if kind.name != "surrogate"]
    assert all(issubclass(kind.config_class(), ViTConfig) for kind in vit_families)


def test_the_registry_imports_without_torch():
    code = "import sys, semcomm.registry; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
