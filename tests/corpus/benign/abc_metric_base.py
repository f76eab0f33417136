# source: evalpod own (#11 follow-up: ordinary evaluation code in the style of real ones)
# expect: accept
import abc


class BaseMetric(abc.ABC):
    higher_is_better = True

    @abc.abstractmethod
    def score(self, prediction, reference):
        """One example's score."""

    @classmethod
    def named(cls):
        return cls.__name__.replace("Metric", "").lower()

    def aggregate(self, predictions, references):
        values = [self.score(p, r) for p, r in zip(predictions, references)]
        return sum(values) / len(values)

    def __repr__(self):
        return f"{self.__class__.__name__}(higher_is_better={self.higher_is_better})"


class LengthRatioMetric(BaseMetric):
    higher_is_better = False

    def score(self, prediction, reference):
        return abs(len(prediction) - len(reference)) / max(len(reference), 1)


class PrefixMetric(BaseMetric):
    def score(self, prediction, reference):
        return float(prediction.strip().startswith(reference.strip()))


def evaluate_model(model):
    refs = [" Monday", " blue"]
    preds = model.generate(["The day after Sunday is", "The color of the sky is"],
                           max_new_tokens=3)
    metrics = [LengthRatioMetric(), PrefixMetric()]
    try:
        BaseMetric()
    except TypeError as err:
        print("abstract:", err.__class__.__name__)
    return {m.named(): m.aggregate(preds, refs) for m in metrics} | {"repr": repr(metrics[1])}
