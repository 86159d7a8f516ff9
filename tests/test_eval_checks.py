"""The report's checks (semcomm.eval.checks) on hand-made report numbers."""
from semcomm.eval.checks import check_report


def report(fig4_noisy: dict, fig6: dict, images=1000, eps=(0.0, 4 / 255, 8 / 255)):
    schemes = [{"name": name, "scheme": name} for name in fig4_noisy]
    return {"settings": {"proposed": "masked_vqvae_fim_at"}, "images": images, "schemes": schemes,
            "fig4": {"snr_db": [0.0, 12.0], "eps": 8 / 255,
                     "curves": {n: {"semantic_noise": c} for n, c in fig4_noisy.items()}},
            "fig6": {"snr_db": 12.0, "eps": list(eps), "curves": fig6}}


def by_name(checks):
    return {c["check"]: c for c in checks}


def test_claims_hold_fail_and_noise_are_told_apart():
    checks = by_name(check_report(report(
        {"masked_vqvae_fim_at": [0.50, 0.80], "masked_vqvae_at": [0.51, 0.70], "jscc_at": [0.60, 0.70]},
        {"masked_vqvae_fim_at": [0.91, 0.85, 0.80], "masked_vqvae_at": [0.92, 0.80, 0.70],
         "jscc_at": [0.95, 0.80, 0.60]})))
    at_least = checks["masked_vqvae_fim_at >= masked_vqvae_at at every snr_db"]
    assert at_least["holds"] and at_least["within_noise"] == [
        {"snr_db": 0.0, "masked_vqvae_fim_at": 0.50, "masked_vqvae_at": 0.51}]  # 1 point < 2 sigma
    jscc = checks["masked_vqvae_fim_at >= jscc_at at every snr_db"]
    assert jscc["holds"] is False and jscc["where_not"][0]["snr_db"] == 0.0  # 10 points at n = 1000
    assert checks["target: masked_vqvae_fim_at clean accuracy at 12.0 dB >= 0.9"]["holds"]
    assert checks["target: masked_vqvae_fim_at accuracy under PGD at 12.0 dB >= 0.75"]["holds"]
    target = checks["target: masked_vqvae_fim_at >= jscc_at at every eps"]
    assert target["holds"] is False and [p["eps"] for p in target["where_not"]] == [0.0]  # clean 0.91 < 0.95
    assert checks["target: masked_vqvae_fim_at >= jpeg_ldpc_at at every eps"]["holds"] is None
    assert checks["FIM helps: masked_vqvae_fim_at >= masked_vqvae_at at every snr_db"]["holds"]
    assert checks["adversarial training helps: jscc_at >= jscc"]["holds"] is None


def test_the_same_gap_is_significant_only_with_enough_images():
    numbers = ({"masked_vqvae_fim_at": [0.80, 0.80], "jscc_at": [0.85, 0.85]},
               {"masked_vqvae_fim_at": [0.9, 0.8, 0.8], "jscc_at": [0.9, 0.8, 0.8]})
    few = by_name(check_report(report(*numbers, images=100)))["masked_vqvae_fim_at >= jscc_at at every snr_db"]
    many = by_name(check_report(report(*numbers, images=10000)))["masked_vqvae_fim_at >= jscc_at at every snr_db"]
    assert few["holds"] and len(few["within_noise"]) == 2
    assert many["holds"] is False and len(many["where_not"]) == 2


def test_onnx_only_schemes_and_a_missing_proposed_scheme_give_no_verdict():
    checks = by_name(check_report(report({"masked_vqvae_fim_at": [0.5, 0.8], "jscc": [None, None]},
                                         {"masked_vqvae_fim_at": [0.9, 0.8, 0.8], "jscc": [0.9, None, None]})))
    assert checks["masked_vqvae_fim_at >= jscc at every snr_db"]["holds"] is None
    alone = check_report(report({"jscc": [0.5, 0.5]}, {"jscc": [0.9, 0.8, 0.7]}))
    assert len(alone) == 1 and alone[0]["holds"] is None and "no masked_vqvae_fim_at" in alone[0]["reason"]


def test_fig5_claim_compares_each_codebook_size_with_the_next_smaller():
    numbers = report({"masked_vqvae_fim_at": [0.5, 0.8]}, {"masked_vqvae_fim_at": [0.9, 0.8, 0.8]})
    assert by_name(check_report(numbers))["Fig. 5: a larger codebook helps"]["holds"] is None  # no sweep
    curves = {"16": ([0.80, 0.85], [0.70, 0.75]), "256": ([0.60, 0.88], [0.50, 0.78]),
              "1024": ([0.57, 0.88], [0.45, 0.79])}
    sweep = {size: {"name": f"j{size}", "clean": clean, "semantic_noise": noisy} for size, (clean, noisy) in curves.items()}
    numbers["fig5"] = {"snr_db": [0.0, 12.0], "sweeps": {"masked_vqvae_fim_at": sweep}}
    checks = by_name(check_report(numbers))
    small = checks["Fig. 5 (with semantic noise, J = 256 vs 16): j256 >= j16 at every snr_db"]
    assert small["holds"] is False and small["where_not"] == [{"snr_db": 0.0, "j256": 0.50, "j16": 0.70}]
    assert checks["Fig. 5 (clean, J = 256 vs 16): j256 >= j16 at every snr_db"]["holds"] is False
    large = checks["Fig. 5 (clean, J = 1024 vs 256): j1024 >= j256 at every snr_db"]
    assert large["holds"] and large["within_noise"] == [{"snr_db": 0.0, "j1024": 0.57, "j256": 0.60}]


def test_noise_masking_claim_uses_the_ablations_that_change_only_the_masking():
    numbers = report({"masked_vqvae_fim_at": [0.5, 0.8]}, {"masked_vqvae_fim_at": [0.9, 0.8, 0.8]})
    assert by_name(check_report(numbers))["noise-related masking helps"]["holds"] is None  # no such ablation

    def row(noisy, differs):
        return {"main": "masked_vqvae_fim_at", "semantic_noise": noisy, "main_semantic_noise": 0.77,
                "differs": differs}
    numbers["ablations"] = {"snr_db": 12.0, "rows": {
        "noise": row(0.70, {"model.masking": ["random", "noise"]}),
        "noise_j16": row(0.90, {"model.masking": ["random", "noise"], "model.codebook_size": [256, 16]}),
        "j16": row(0.90, {"model.codebook_size": [256, 16]})}}
    checks = [c for c in check_report(numbers) if c["check"].startswith("noise-related masking")]
    assert len(checks) == 1 and checks[0]["check"] == ("noise-related masking helps: noise >= masked_vqvae_fim_at "
                                                       "at every snr_db")
    assert checks[0]["holds"] is False and checks[0]["where_not"] == [
        {"snr_db": 12.0, "noise": 0.70, "masked_vqvae_fim_at": 0.77}]

