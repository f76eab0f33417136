# source: evalpod own (corpus before #11)
# expect: accept
from enum import Enum
from functools import lru_cache


class Sentiment(Enum):
    POSITIVE = "positive"
    NEGATIVE = "negative"


REVIEWS = [("I loved this film!", Sentiment.POSITIVE), ("Terrible, boring plot.", Sentiment.NEGATIVE)]


@lru_cache(maxsize=None)
def template(review: str) -> str:
    return f"Review: {review}\nSentiment:"


def evaluate_model(model):
    correct = 0
    for review, label in REVIEWS:
        scores = {
            s: model.loglikelihood([(template(review), " " + s.value)])[0]
            for s in Sentiment
        }
        best = max(scores, key=lambda s: scores[s][0] if isinstance(scores[s], (list, tuple)) else scores[s])
        correct += int(best is label)
    return {"sentiment_acc": correct / len(REVIEWS)}
