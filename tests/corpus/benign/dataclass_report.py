# source: evalpod own (#11 follow-up: ordinary evaluation code in the style of real ones)
# expect: accept
from dataclasses import asdict, dataclass, field, replace


@dataclass(frozen=True)
class Sample:
    prompt: str
    target: str
    tags: tuple = ()


@dataclass
class Report:
    task: str
    scores: list = field(default_factory=list)
    notes: dict = field(default_factory=dict)

    def __post_init__(self):
        if not self.task:
            raise ValueError("task must be named")

    @property
    def accuracy(self):
        return sum(self.scores) / len(self.scores) if self.scores else 0.0

    def to_dict(self):
        data = asdict(self)
        data["accuracy"] = self.accuracy
        return {key: data[key] for key in ("task", "accuracy", "notes")}


def evaluate_model(model):
    samples = [Sample("Opposite of hot:", " cold", ("antonym",)),
               Sample("Opposite of up:", " down")]
    samples.append(replace(samples[0], prompt="Opposite of big:", target=" small"))
    report = Report("antonyms")
    for sample, (_, greedy) in zip(samples, model.loglikelihood(
            [(s.prompt, s.target) for s in samples])):
        report.scores.append(float(greedy))
    report.notes["tagged"] = sum(bool(s.tags) for s in samples)
    return report.to_dict()
