# source: evalpod own (Nov 2026 follow-up: the edges of the mapping-setter rule): literal config overrides, container updates, progress bars and hashes
# expect: accept
import hashlib
from collections import Counter, defaultdict

from tqdm import tqdm

OVERRIDES = {"max_new_tokens": 8, "do_sample": False}


def tune(config, **overrides):
    config.update(overrides)


def evaluate_model(model):
    model.model.generation_config.update(**OVERRIDES)
    model.model.config.update({"use_cache": True})
    tune(model.model.generation_config, temperature=1.0)
    prompts = ["2 + 2 =", "The sky is"]
    outputs = model.generate(prompts, max_new_tokens=4)
    counts = Counter()
    per_prompt = defaultdict(dict)
    report = {}
    digest = hashlib.sha256()
    with tqdm(total=len(prompts)) as bar:
        for prompt, output in zip(prompts, outputs):
            counts.update(output.split())
            per_prompt[prompt].update({f"len_{len(prompt)}": len(output)})
            report.update({f"out_{len(report)}": len(output)})
            digest.update(output.encode())
            bar.update(1)
    report["distinct"] = len(counts)
    report["digest"] = digest.hexdigest()[:8]
    return report
