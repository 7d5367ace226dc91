"""tagging-ctc report findings: the published order is called reproduced only when it is, and a
saturated AUC is said to be unable to rank the variants."""

from __future__ import annotations

from edgekws.tasks.tagging_ctc.report import order_findings


def _v(auc: float, half: float = 0.01) -> dict:
    return {"macro_auc": auc, "auc_ci": [auc - half, auc + half]}


def test_published_order_reproduced_or_not() -> None:
    same = order_findings({"crnn-ctc": _v(0.95), "crnn-gmp": _v(0.90), "crnn-gap": _v(0.80)}, "D")
    assert len(same) == 1
    assert "crnn-ctc 0.950 > crnn-gmp 0.900 > crnn-gap 0.800" in same[0] and "This ranking matches" in same[0]
    flipped = order_findings({"glu-ctc": _v(0.70), "glu-gmp": _v(0.90, 0.05), "glu-gap": _v(0.88)}, "D")
    assert "glu-gmp 0.900 ≈ glu-gap 0.880 > glu-ctc 0.700" in flipped[0]  # overlapping intervals: '≈'
    assert "does NOT match the published order glu-ctc > glu-gmp > glu-gap" in flipped[0]


def test_saturated_auc_is_called_out() -> None:
    found = order_findings({"crnn-ctc": _v(0.999, 0.001), "crnn-gmp": _v(0.998, 0.002), "crnn-gap": _v(0.95)}, "D")
    assert any("2 of 3 variants (crnn-ctc, crnn-gmp)" in f and "cannot rank" in f for f in found)
    # high point values whose intervals reach below the ceiling are not called saturated
    assert not any("cannot rank" in f for f in order_findings({"crnn-ctc": _v(0.995), "crnn-gmp": _v(0.992)}, "D"))
