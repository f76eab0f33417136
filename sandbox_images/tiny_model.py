"""Build the built-in `tiny-gpt2`: a small GPT-2 with a BPE tokenizer trained in code.

Run as `python sandbox_images/tiny_model.py DEST [--seed N] [--train]` with the runtime
interpreter: the evalpod service must not import torch, so it spawns this file instead of
importing it. Without `--train` the weights are random (the test suite's model: tests depend
on its exact outputs). With `--train` (what `evalpod up` and `evalpod models create-tiny`
build) it then learns the shipped question-answer and arithmetic examples for a few seconds
on one CPU thread, so the quickstart's example scores above zero. The output is
byte-for-byte reproducible for a given seed and library versions.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EOS_TOKEN = "<|endoftext|>"
VOCAB_SIZE = 1024
N_POSITIONS = 256
N_EMBD = 96
N_LAYER = 2
N_HEAD = 4

# Plain English with the shapes evalpod's examples and lm-eval tasks use (questions,
# numbers, capitals), so those texts tokenise into sensible pieces rather than bytes.
CORPUS = """\
The quick brown fox jumps over the lazy dog. The dog sleeps in the sun all day long.
A model is evaluated on a set of questions. Each question has one correct answer.
Question: What is the capital of France? Answer: Paris.
Question: What is the capital of Germany? Answer: Berlin.
Question: What is the capital of Italy? Answer: Rome.
Question: What is the capital of Spain? Answer: Madrid.
Question: What is the capital of Japan? Answer: Tokyo.
Question: What is the capital of Canada? Answer: Ottawa.
Question: What is two plus three? Answer: five.
Question: What is 4 + 5? Answer: 9. Question: What is 7 + 6? Answer: 13.
One, two, three, four, five, six, seven, eight, nine, ten, eleven, twelve.
The numbers 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 are small.
Language models predict the next word in a sentence. They are trained on large amounts of
text collected from books, articles and the web. A good model assigns a high probability
to fluent text and a low probability to nonsense. Perplexity measures how surprised a model
is by a text: lower is better. Accuracy counts how often the model picks the right answer.
It was a bright cold day in April, and the clocks were striking thirteen. The weather was
fine, and the children played in the park near the river. Their parents sat on a bench and
talked about the news, the price of bread, and the long summer holidays that were coming.
Water boils at one hundred degrees. The sun rises in the east and sets in the west.
There are seven days in a week and twelve months in a year. A year has four seasons:
spring, summer, autumn and winter. Cats and dogs are common pets. Birds can fly and fish
can swim. The earth goes around the sun, and the moon goes around the earth.
Once upon a time there was a little girl who lived in a village near the forest. Every
morning she walked to school with her brother. They liked reading stories and counting
stars at night. The teacher asked the class a question and the students wrote the answer.
London is the capital of the United Kingdom. Paris is the capital of France. Berlin is the
capital of Germany. Rome is the capital of Italy. Madrid is the capital of Spain. Lisbon is
the capital of Portugal. Vienna is the capital of Austria. Athens is the capital of Greece.
Oslo is the capital of Norway. Stockholm is the capital of Sweden. Cairo is the capital of
Egypt. Tokyo is the capital of Japan. Beijing is the capital of China. Delhi is the capital
of India. Ottawa is the capital of Canada. Canberra is the capital of Australia.
Three plus four equals seven. Ten minus two equals eight. Six times two equals twelve.
The answer is yes. The answer is no. True or false? The statement is true.
"""


# What `--train` teaches: the questions of examples/qa_exact_match.py and
# examples/multiple_choice.py and a little arithmetic, each in the prompt form those examples
# use (a one-shot "Question: …\nAnswer: …" block). A demo model that memorised its demo: a
# score above zero shows the pipeline works, not that the model generalises.
ONE_SHOT = "Question: What is the capital of Spain?\nAnswer: Madrid\n\n"
TRAINING_QA = [
    ("What is the capital of France?", "Paris"),
    ("What is the capital of Germany?", "Berlin"),
    ("What is the capital of Italy?", "Rome"),
    ("What is the capital of Japan?", "Tokyo"),
    ("What is the capital of Canada?", "Ottawa"),
    ("What is the capital of Spain?", "Madrid"),
    ("What is two plus three?", "five"),
    ("How many days are in a week?", "seven"),
    ("How many months are in a year?", "twelve"),
    ("Which direction does the sun rise in?", "east"),
    ("Where does the sun rise?", "east"),
    ("What do birds use to fly?", "wings"),
    ("Which animal can fly?", "bird"),
    ("What does a fish do?", "swim"),
    ("Which season comes after summer?", "autumn"),
    ("What is the opposite of hot?", "cold"),
    ("What color is the sky on a clear day?", "blue"),
    ("What is 2 + 3?", "5"),
    ("What is 9 - 4?", "5"),
    ("What is 4 + 5?", "9"),
    ("What is 6 + 6?", "12"),
    ("What is 7 + 6?", "13"),
]
TRAIN_STEPS = 100
TRAIN_LR = 3e-3
# Written beside the weights of a trained build: what it learnt (scripts/quickstart.sh
# rebuilds a tiny-gpt2 without it, the random one earlier versions made).
TRAINING_RECORD = "evalpod_training.json"


def _train_tokenizer() -> Any:
    from tokenizers import ByteLevelBPETokenizer

    bpe = ByteLevelBPETokenizer(add_prefix_space=False)
    lines = [line for line in CORPUS.splitlines() if line]
    bpe.train_from_iterator(
        lines,
        vocab_size=VOCAB_SIZE,
        min_frequency=2,
        special_tokens=[EOS_TOKEN],
        show_progress=False,
    )
    return bpe


def _wrap_tokenizer(bpe: Any) -> Any:
    # In transformers 5 this is an alias of GPT2Tokenizer, which is tokenizers-backed.
    from transformers import GPT2TokenizerFast  # type: ignore[attr-defined]

    return GPT2TokenizerFast(
        tokenizer_object=bpe,
        bos_token=EOS_TOKEN,
        eos_token=EOS_TOKEN,
        unk_token=EOS_TOKEN,
        pad_token=EOS_TOKEN,
        model_max_length=N_POSITIONS,
    )


def _training_texts() -> list[str]:
    # The plain-English corpus too: trained on the QA prompts alone, the model scored
    # fluent sentences worse than the random one (perplexity ~33,000 against ~500).
    texts = [line for line in CORPUS.splitlines() if line]
    for question, answer in TRAINING_QA:
        texts.append(f"{ONE_SHOT}Question: {question}\nAnswer: {answer}\n")
        texts.append(f"Question: {question}\nAnswer: {answer}\n")
    return texts


def _train(model: Any, tokenizer: Any) -> float:
    """Teach `model` the TRAINING_QA texts (full batch, AdamW); the final loss."""
    import torch

    batch = tokenizer(_training_texts(), padding=True, return_tensors="pt")
    labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
    optimiser = torch.optim.AdamW(model.parameters(), lr=TRAIN_LR, weight_decay=0.0)
    model.train()
    loss = torch.tensor(0.0)
    for _ in range(TRAIN_STEPS):
        optimiser.zero_grad()
        loss = model(**batch, labels=labels).loss
        loss.backward()
        optimiser.step()
    model.eval()
    return float(loss.item())


def create_tiny_gpt2(dest: Path, seed: int = 0, *, train: bool = False) -> Path:
    """Write a tiny GPT-2 (safetensors) and its tokenizer to `dest`; return `dest`.

    Random weights, or with `train` the weights after `_train` (single-threaded, so the
    same seed gives the same bytes).
    """
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    tokenizer = _wrap_tokenizer(_train_tokenizer())
    eos_id = tokenizer.eos_token_id
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=N_POSITIONS,
        n_embd=N_EMBD,
        n_layer=N_LAYER,
        n_head=N_HEAD,
        bos_token_id=eos_id,
        eos_token_id=eos_id,
        pad_token_id=eos_id,
    )
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(config)
    loss = None
    if train:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # one thread: the same float sums, the same weights
        try:
            loss = _train(model, tokenizer)
        finally:
            torch.set_num_threads(threads)
    model.eval()  # type: ignore[no-untyped-call]
    dest.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(dest, safe_serialization=True)
    tokenizer.save_pretrained(dest)
    if loss is not None:
        record = {"texts": len(_training_texts()), "steps": TRAIN_STEPS, "seed": seed,
                  "learning_rate": TRAIN_LR, "final_loss": round(loss, 4)}
        (dest / TRAINING_RECORD).write_text(json.dumps(record, sort_keys=True) + "\n")
    # safetensors writes 0600; the sandbox may read /model as another uid.
    for item in dest.iterdir():
        item.chmod(0o644)
    return dest


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train", action="store_true",
                        help="Learn the shipped QA and arithmetic examples (a few seconds).")
    args = parser.parse_args(argv)
    path = create_tiny_gpt2(args.dest, seed=args.seed, train=args.train)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
