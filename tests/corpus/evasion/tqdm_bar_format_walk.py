# source: evalpod own (#11 follow-up: the edges of the new allowances)
# expect: EP202
from tqdm import tqdm


def evaluate_model(model, field="tokenizer"):
    template = "{model." + field + ".__init__}"
    bar = tqdm(total=1, bar_format=template, file=None)
    return {"x": str(bar)}
