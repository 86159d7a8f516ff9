"""Fine-tuning initialisation (semcomm.train.pretrained): which tensors come from the pre-training."""
import torch

from semcomm.nn.masked_vqvae import CodecConfig, MaskedVQVAE, center_positions, spread_positions
from semcomm.train.pretrained import load_pretrained

SMALL = dict(image_shape=(1, 16, 16), patch=4, dim=16, encoder_depth=1, decoder_dim=16, decoder_depth=1, heads=2,
             code_dim=8, codebook_size=16)


def _save(model, path):
    torch.save({"model": model.state_dict(), "epoch": 2}, path)
    return str(path)


def test_weights_come_from_the_pretraining_and_the_masking_from_the_new_config(tmp_path):
    torch.manual_seed(0)
    pretraining = MaskedVQVAE(CodecConfig(task="reconstruction", keep_layout="spread", **SMALL))
    path = _save(pretraining, tmp_path / "recon.pt")
    model = MaskedVQVAE(CodecConfig(keep_layout="center", fim_layers=[0], **SMALL))
    done = load_pretrained(model, path)
    assert torch.equal(model.to_code.weight, pretraining.to_code.weight)
    assert torch.equal(model.codebook.vectors, pretraining.codebook.vectors)
    assert model.inference_keep.tolist() == center_positions(4, 4, 8).tolist()
    assert pretraining.inference_keep.tolist() == spread_positions(4, 4, 8).tolist() != model.inference_keep.tolist()
    assert done["from_config"] == ["keep_logits", "inference_keep"] and done["epochs"] == 2
    assert set(done["fresh"]) == {"head.weight", "head.bias"} | {k for k in model.state_dict() if k.startswith("fims.")}
    assert done["loaded"] == len(model.state_dict()) - len(done["fresh"]) - 2


def test_a_codebook_of_another_shape_starts_fresh_and_restarts_on_the_first_batch(tmp_path):
    torch.manual_seed(0)
    pretraining = MaskedVQVAE(CodecConfig(**SMALL)).train()
    pretraining(torch.rand(4, 1, 16, 16), torch.zeros(4))  # its codes start on data: initialized is True
    path = _save(pretraining, tmp_path / "g1.pt")
    model = MaskedVQVAE(CodecConfig(code_groups=2, **SMALL))
    done = load_pretrained(model, path)
    assert set(done["fresh"]) == {"codebook.vectors", "codebook.initialized"}
    assert torch.equal(model.to_code.weight, pretraining.to_code.weight)
    assert not bool(model.codebook.initialized) and model.codebook.vectors.shape == (16, 4)
