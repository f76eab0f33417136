# source: evalpod own (corpus before #11)
# expect: accept
import difflib
import textwrap

PAIRS = [
    ("Repeat exactly: hello world", "hello world"),
    ("Repeat exactly: open the door", "open the door"),
]


def evaluate_model(model):
    outs = model.generate([p for p, _ in PAIRS], max_new_tokens=6)
    ratios = []
    for out, (_, target) in zip(outs, PAIRS):
        ratio = difflib.SequenceMatcher(None, out.strip(), target).ratio()
        ratios.append(ratio)
        print(textwrap.shorten(f"{target!r} vs {out!r}: {ratio:.2f}", width=70))
    return {"copy_similarity": sum(ratios) / len(ratios)}
