# source: evalpod own (corpus before #11)
# expect: accept
from decimal import Decimal, ROUND_HALF_UP
from fractions import Fraction


def evaluate_model(model):
    outs = model.generate(["1/2 + 1/4 ="], max_new_tokens=5)
    expected = Fraction(1, 2) + Fraction(1, 4)
    ok = str(expected) in outs[0] or "0.75" in outs[0]
    score = Decimal(int(ok)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return {"fraction_ok": float(score)}
