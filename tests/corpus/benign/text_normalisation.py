# source: evalpod own (#11 follow-up: ordinary evaluation code in the style of real ones)
# expect: accept
import datetime
import re
import string
import unicodedata

PUNCT_TABLE = str.maketrans("", "", string.punctuation)
ARTICLES = re.compile(r"\b(a|an|the)\b", re.IGNORECASE | re.UNICODE)


def normalise(text):
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = ARTICLES.sub(" ", text.lower()).translate(PUNCT_TABLE)
    return " ".join(text.split())


def evaluate_model(model):
    refs = ["Café au lait", "The Eiffel Tower!"]
    outs = model.generate(["A French coffee drink:", "A famous Paris landmark:"],
                          max_new_tokens=5)
    exact = [normalise(o) == normalise(r) for o, r in zip(outs, refs)]
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    return {"exact": sum(exact) / len(exact), "normalised": [normalise(r) for r in refs],
            "date_len": len(stamp), "title": string.capwords("hello world")}
